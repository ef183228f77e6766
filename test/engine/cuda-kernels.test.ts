/**
 * CUDA readiness without a GPU: every node of every graph the study builds (loss with and without
 * LoRA dropout and layer recomputation, logits, KV-cached decode, with and without an adapter; fp32
 * and fp16 weight storage) must have a kernel in onnxruntime's CUDA provider at the graph's opset
 * and for the tensor types it is fed, checked against the vendored table
 * fixtures/onnxruntime/cuda-kernels.json. A node without a CUDA kernel would run on the CPU, copying
 * its tensors across PCIe on every step.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import onnxProto from "onnx-proto";
import { describe, expect, it } from "vitest";
import { buildLlamaGraph, type GraphSpec } from "../../harness/engine/llama.ts";
import { TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import { ROOT } from "../cli-helpers.ts";
import { tinyConfig } from "./tiny.ts";

interface Kernel {
  since: number;
  until?: number;
  in: Record<string, string | string[]>;
}
const TABLE = JSON.parse(readFileSync(join(ROOT, "fixtures/onnxruntime/cuda-kernels.json"), "utf8")) as {
  sets: Record<string, string[]>;
  ops: Record<string, Kernel>;
};

// onnx.TensorProto.DataType codes → the names OperatorKernels.md uses.
const TYPE_NAMES: Record<number, string> = {
  1: "float",
  2: "uint8",
  3: "int8",
  4: "uint16",
  5: "int16",
  6: "int32",
  7: "int64",
  9: "bool",
  10: "float16",
  11: "double",
  12: "uint32",
  13: "uint64",
  16: "bfloat16",
};
const BOOL_OUT = new Set(["Equal", "Less", "Greater", "IsNaN", "Not", "And", "Or"]);

interface TypedNode {
  op: string;
  name: string;
  inputs: (string | null)[];
}

/** The graph's opset and each node with its input types, inferred forward from inputs and initializers. */
function typedNodes(bytes: Uint8Array): { opset: number; nodes: TypedNode[] } {
  const m = onnxProto.onnx.ModelProto.decode(bytes);
  const g = m.graph!;
  const types = new Map<string, string>();
  const name = (code: number | null | undefined) => TYPE_NAMES[code ?? 0] ?? `code ${code}`;
  for (const v of g.input ?? []) types.set(v.name!, name(v.type?.tensorType?.elemType));
  for (const t of g.initializer ?? []) types.set(t.name!, name(t.dataType));
  const nodes: TypedNode[] = [];
  for (const n of g.node ?? []) {
    const ins = (n.input ?? []).map((i) => (i === "" ? null : (types.get(i) ?? `unknown ${i}`)));
    const attr = (k: string) => n.attribute?.find((a) => a.name === k);
    let out: string;
    if (n.opType === "Shape") out = "int64";
    else if (n.opType === "Cast") out = name(Number(attr("to")!.i));
    else if (BOOL_OUT.has(n.opType!)) out = "bool";
    else if (n.opType === "ConstantOfShape") out = name(attr("value")?.t?.dataType ?? 1);
    else if (n.opType === "Where") out = ins[1]!;
    else out = ins[0]!;
    for (const o of n.output ?? []) types.set(o, out);
    nodes.push({ op: `${n.domain ? `${n.domain}.` : ""}${n.opType}`, name: n.name ?? "", inputs: ins });
  }
  return { opset: Number(m.opsetImport?.find((o) => !o.domain)?.version ?? 0), nodes };
}

/** Why a node has no CUDA kernel, or null when it has one. */
function missingKernel(n: TypedNode, opset: number): string | null {
  const k = TABLE.ops[n.op];
  if (!k) return `${n.op}: not in the CUDA kernel table`;
  if (opset < k.since || (k.until !== undefined && opset > k.until))
    return `${n.op}: the table's CUDA kernel covers opsets ${k.since}..${k.until ?? ""}, the graph is opset ${opset}`;
  for (const [i, t] of n.inputs.entries()) {
    if (t === null) continue;
    const allowed = k.in[String(i)] ?? k.in["*"];
    if (allowed === undefined) continue;
    const list = typeof allowed === "string" ? TABLE.sets[allowed] : allowed;
    if (!list.includes(t)) return `${n.op}: input ${i} is ${t}; CUDA has ${list.join(", ")}`;
  }
  return null;
}

const lora = { r: 8, scaling: 2, targets: ["q_proj", "v_proj"] };
const BASE: [string, Omit<GraphSpec, "config">][] = [
  ["loss, LoRA with dropout masks", { kind: "loss", lora: { ...lora, dropout: true } }],
  ["loss, LoRA without dropout", { kind: "loss", lora: { ...lora, dropout: false } }],
  [
    "loss, LoRA with dropout, layers recomputed",
    { kind: "loss", lora: { ...lora, dropout: true }, checkpoint: true },
  ],
  ["loss, no adapter", { kind: "loss", trainable: "none" }],
  ["logits", { kind: "logits" }],
  ["logits, LoRA", { kind: "logits", lora: { ...lora, dropout: false } }],
  ["decode", { kind: "decode" }],
  ["decode, LoRA", { kind: "decode", lora: { ...lora, dropout: false } }],
];
// fp32 storage (the CPU's) and fp16 storage (CUDA's default: half initializers cast up at each use).
const SPECS: [string, Omit<GraphSpec, "config">][] = BASE.flatMap(([what, spec]) => [
  [`${what}, fp32 weights`, { ...spec, storage: "float32" as const }],
  [`${what}, fp16 weights`, { ...spec, storage: "float16" as const }],
]);

describe("every op of the built graphs has a CUDA kernel (onnxruntime 1.30, vendored table)", () => {
  // TinyLlama's shapes with 2 layers: the same ops and types as 22, built in milliseconds.
  const config = { ...TINYLLAMA_SHAPES, numLayers: 2 };
  for (const [what, spec] of SPECS)
    it(what, () => {
      const { opset, nodes } = typedNodes(buildLlamaGraph({ ...spec, config }).bytes);
      expect(nodes.length).toBeGreaterThan(20);
      // Not vacuous: fp16 storage really feeds half tensors to the graph's casts.
      if (spec.storage === "float16")
        expect(nodes.some((n) => n.op === "Cast" && n.inputs[0] === "float16")).toBe(true);
      const missing = [...new Set(nodes.map((n) => missingKernel(n, opset)).filter((x) => x !== null))];
      expect(missing).toEqual([]);
    });

  it("the check itself catches a missing kernel, a wrong type and a wrong opset", () => {
    const ok: TypedNode = { op: "MatMul", name: "m", inputs: ["float", "float"] };
    expect(missingKernel(ok, 18)).toBeNull();
    expect(missingKernel({ ...ok, inputs: ["int32", "float"] }, 18)).toMatch(/input 0 is int32/);
    expect(missingKernel({ ...ok, op: "Reciprocal", inputs: ["bfloat16"] }, 18)).toMatch(/bfloat16/);
    expect(missingKernel({ ...ok, op: "Reshape", inputs: ["float", "int64"] }, 21)).toMatch(/opset 21/);
    expect(missingKernel({ ...ok, op: "LayerNormalizationX" }, 18)).toMatch(/not in the CUDA kernel table/);
    // Type inference follows the graph: a tiny float64 graph types its nodes as double.
    const { nodes } = typedNodes(
      buildLlamaGraph({ kind: "logits", config: tinyConfig(), float: "float64" }).bytes,
    );
    expect(nodes.find((n) => n.op === "MatMul")?.inputs).toEqual(["double", "double"]);
  });
});
