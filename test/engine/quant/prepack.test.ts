/**
 * Which graphs hold their 4-bit codes as prepackable constants (quant/graph.ts, prepackInt4): int4
 * graphs that only run forward in float32 (decoding, logits), where nothing but MatMulNBits reads the
 * codes. Training graphs, float64 graphs and NF4 keep the codes as run-time values, so no optimizer can
 * fold their dequantization into a float copy.
 */
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { buildLlamaGraph, type GraphSpec } from "../../../harness/engine/llama.ts";
import { INT4_PREPACKED_ACCURACY_LEVEL } from "../../../harness/engine/quant/kernels.ts";
import { resolveQuant } from "../../../harness/engine/quant/spec.ts";
import { tinyConfig } from "../tiny.ts";

const c = tinyConfig({ hiddenSize: 64, intermediateSize: 96, headDim: 16 });
const LINEARS = 7 * c.numLayers;
const int4 = resolveQuant({ type: "int4", blockSize: 32 }, "test");
const int4zp = resolveQuant({ type: "int4", blockSize: 32, zeroPoints: true }, "test");
const nf4 = resolveQuant({ type: "nf4", blockSize: 32 }, "test");
const lora = { r: 2, scaling: 2, targets: ["q_proj", "v_proj"], dropout: false };

/** The built graph's prepack flag, its 4-bit initializers, which of them are graph inputs, and their readers. */
function inspect(spec: Omit<GraphSpec, "config">) {
  const built = buildLlamaGraph({ ...spec, config: c });
  const g = onnxProto.onnx.ModelProto.decode(built.bytes).graph!;
  const quantNames = new Set(
    (g.initializer ?? [])
      .map((t) => t.name!)
      .filter((n) => /\.(int4|nf4|scales|absmax|zero_points)$/.test(n)),
  );
  const inputs = new Set((g.input ?? []).map((v) => v.name!));
  const nodes = g.node ?? [];
  const readers = nodes.filter((n) => (n.input ?? []).some((i) => quantNames.has(i)));
  const level = (n: onnxProto.onnx.INodeProto) => n.attribute?.find((a) => a.name === "accuracy_level")?.i;
  return {
    prepack: built.prepack,
    quantNames,
    asInputs: [...quantNames].filter((n) => inputs.has(n)),
    readerOps: new Set(readers.map((n) => n.opType)),
    matMulNBits: nodes.filter((n) => n.opType === "MatMulNBits").map((n) => Number(level(n) ?? 0)),
  };
}

describe("int4 graphs that only run forward are prepacked", () => {
  for (const q of [int4, int4zp]) {
    for (const kind of ["decode", "logits"] as const) {
      it(`${kind}, ${q.zeroPoints ? "with" : "without"} zero points: constant codes read by MatMulNBits alone, int8 activations`, () => {
        const r = inspect({ kind, quant: q, lora });
        expect(r.prepack).toBe(true);
        expect(r.quantNames.size).toBe(LINEARS * (q.zeroPoints ? 3 : 2));
        expect(r.asInputs).toEqual([]);
        // No dequantizing node in the forward: the codes reach no table lookup, Cast or Mul.
        expect([...r.readerOps]).toEqual(["MatMulNBits"]);
        expect(r.matMulNBits).toEqual(new Array(LINEARS).fill(INT4_PREPACKED_ACCURACY_LEVEL));
      });
    }
  }

  it("an evaluation loss graph (nothing trainable) is prepacked too", () => {
    const r = inspect({ kind: "loss", quant: int4, trainable: "none" });
    expect(r.prepack).toBe(true);
    expect(r.asInputs).toEqual([]);
  });
});

describe("graphs that dequantize the codes keep them as run-time values", () => {
  it("the int4 training graph: codes are graph inputs, forward kernels keep float activations", () => {
    const r = inspect({ kind: "loss", quant: int4zp, lora });
    expect(r.prepack).toBe(false);
    expect(r.asInputs.length).toBe(r.quantNames.size);
    // The backward rebuilds W from the codes (dx = dy · W) with standard ops.
    expect(r.readerOps.has("MatMulNBits")).toBe(true);
    expect(r.readerOps.size).toBeGreaterThan(1);
    expect(r.matMulNBits).toEqual(new Array(LINEARS).fill(0));
  });

  it("the int4 training graph with recomputation", () => {
    const r = inspect({ kind: "loss", quant: int4, lora, checkpoint: true });
    expect(r.prepack).toBe(false);
    expect(r.asInputs.length).toBe(r.quantNames.size);
  });

  it("float64 int4 graphs (dequantized by standard ops in the forward)", () => {
    const r = inspect({ kind: "decode", quant: int4, float: "float64" });
    expect(r.prepack).toBe(false);
    expect(r.asInputs.length).toBe(r.quantNames.size);
    expect(r.matMulNBits).toEqual([]);
  });

  it("NF4 decoding (MatMulBnb4 gains nothing from prepacking)", () => {
    const r = inspect({ kind: "decode", quant: nf4 });
    expect(r.prepack).toBe(false);
    expect(r.asInputs.length).toBe(r.quantNames.size);
    expect([...r.readerOps]).toEqual(["MatMulBnb4"]);
  });

  it("float graphs are never prepacked", () => {
    expect(inspect({ kind: "decode" }).prepack).toBe(false);
  });
});
