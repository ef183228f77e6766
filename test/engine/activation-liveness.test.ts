/**
 * What the loss graph keeps alive in onnxruntime's execution order (modelled in liveness.ts): with
 * recomputation, one hidden-sized tensor per layer; without, every layer's activations. The memory
 * model's activation count (memory.ts) must agree with that walk, so a graph change that moves memory
 * shows up here before it shows up in a benchmark.
 */
import { describe, expect, it } from "vitest";
import type { LlamaConfig } from "../../harness/engine/checkpoint.ts";
import { buildLlamaGraph } from "../../harness/engine/llama.ts";
import { activationElements } from "../../harness/engine/memory.ts";
import { GEMMA2_2B_SHAPES, TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import { peakLiveBytes, withShapes } from "./liveness.ts";

const targets = ["q_proj", "v_proj"];

const withLayers = (c: LlamaConfig, numLayers: number): LlamaConfig => ({
  ...c,
  numLayers,
  layerTypes: c.layerTypes?.slice(0, numLayers),
});

function simulated(
  layers: number,
  rows: number,
  checkpoint: boolean,
  dropout = false,
  shapes0 = TINYLLAMA_SHAPES,
): number {
  const config = withLayers(shapes0, layers);
  const { result, shapes } = withShapes(() =>
    buildLlamaGraph({ config, kind: "loss", lora: { r: 8, scaling: 2, targets, dropout }, checkpoint }),
  );
  return peakLiveBytes(result.bytes, shapes, { B: rows, S: 640, K: 640, M: rows * 128 });
}

const estimated = (
  layers: number,
  rows: number,
  checkpointing: boolean,
  dropout = false,
  shapes0 = TINYLLAMA_SHAPES,
) =>
  4 *
  activationElements({
    config: withLayers(shapes0, layers),
    microBatch: rows,
    seqLen: 640,
    labelsPerRow: 128,
    checkpointing,
    lora: { r: 8, targets, dropout },
  });

describe("activation memory in onnxruntime's execution order (TinyLlama's shapes, 640 tokens)", () => {
  const hidden = 640 * TINYLLAMA_SHAPES.hiddenSize * 4;

  it("grows by about one layer input per layer with recomputation, by a whole layer without", () => {
    const perLayer = (ck: boolean) => (simulated(12, 1, ck) - simulated(4, 1, ck)) / 8;
    expect(perLayer(true)).toBeLessThan(1.5 * hidden);
    expect(perLayer(false)).toBeGreaterThan(20 * hidden);
  });

  it.each([
    [1, false, false],
    [1, true, false],
    [4, true, true],
    [2, false, true],
  ])(
    "matches the memory model within 15 percent: rows %i, recomputation %s, dropout %s",
    (rows, ck, dropout) => {
      const sim = simulated(22, rows, ck, dropout);
      const est = estimated(22, rows, ck, dropout);
      expect(Math.abs(est - sim) / sim).toBeLessThan(0.15);
    },
  );
});

describe("Gemma-2-2B's shapes (extra norms, soft-capped attention and logits, 640 tokens)", () => {
  it("each layer adds what the memory model says, within 5 percent", () => {
    const perLayer = (f: typeof simulated) =>
      (f(8, 1, false, false, GEMMA2_2B_SHAPES) - f(4, 1, false, false, GEMMA2_2B_SHAPES)) / 4;
    const sim = perLayer(simulated);
    expect(Math.abs(perLayer(estimated) - sim) / sim).toBeLessThan(0.05);
  });

  it.each([false, true])("the whole step matches within 15 percent, recomputation %s", (ck) => {
    const sim = simulated(8, 1, ck, false, GEMMA2_2B_SHAPES);
    expect(Math.abs(estimated(8, 1, ck, false, GEMMA2_2B_SHAPES) - sim) / sim).toBeLessThan(0.15);
  });
});
