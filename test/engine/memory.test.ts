/**
 * The memory model's arithmetic and the planners' choices. How close the estimate comes to a measured
 * peak is a benchmark (`npm run perf`, study_step.estimate_error), not a test.
 */
import { describe, expect, it } from "vitest";
import {
  activationElements,
  defaultBudget,
  ESTIMATE_TOLERANCE,
  estimateDecodePeak,
  estimateTrainPeak,
  parseBytes,
  planDecoding,
  planTraining,
  weightBytes,
} from "../../harness/engine/memory.ts";
import { TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";

const c = TINYLLAMA_SHAPES;
const lora = { r: 8, targets: ["q_proj", "v_proj"], dropout: true };
const shape = { config: c, seqLen: 640, labelsPerRow: 128, lora };
const GB = 1e9;

describe("memory estimates", () => {
  it("count TinyLlama's 1.1B fp32 weights and halve them for fp16 storage", () => {
    expect(weightBytes(c)).toBe(4_400_193_536);
    expect(weightBytes(c, 2)).toBe(4_400_193_536 / 2);
  });

  it("make a training step's peak the sum of its parts, growing with rows and shrinking with recomputation", () => {
    const e = estimateTrainPeak({ ...shape, microBatch: 4, checkpointing: false });
    expect(e.peakBytes).toBe(Object.values(e.parts).reduce((a, b) => a + b, 0));
    const at = (m: number, ck: boolean) =>
      estimateTrainPeak({ ...shape, microBatch: m, checkpointing: ck }).peakBytes;
    expect(at(1, false)).toBeLessThan(at(2, false));
    expect(at(2, false)).toBeLessThan(at(4, false));
    expect(at(4, true)).toBeLessThan(at(1, false));
    // The plain step keeps every layer: its activations scale with the layer count, recomputation's barely.
    const acts = (layers: number, ck: boolean) =>
      activationElements({ ...shape, config: { ...c, numLayers: layers }, microBatch: 1, checkpointing: ck });
    expect(acts(22, false) / acts(11, false)).toBeGreaterThan(1.9);
    expect(acts(22, true) / acts(11, true)).toBeLessThan(1.3);
  });

  it("put the study's 4 × 640 step at weights + ~13 GB plain and under weights + 4 GB recomputed", () => {
    const plain = estimateTrainPeak({
      ...shape,
      microBatch: 4,
      checkpointing: false,
      lora: { ...lora, dropout: false },
    });
    expect(plain.parts.activations).toBeGreaterThan(11 * GB);
    expect(plain.parts.activations).toBeLessThan(15 * GB);
    const ck = estimateTrainPeak({ ...shape, microBatch: 4, checkpointing: true });
    expect(ck.peakBytes).toBeLessThan(weightBytes(c) + 4 * GB);
  });

  it("make a decode step's peak grow with the batch through the KV cache", () => {
    const at = (batch: number) => estimateDecodePeak({ config: c, batch, promptLen: 512, maxNewTokens: 128 });
    expect(at(16).parts.kv_cache).toBe(16 * at(1).parts.kv_cache);
    expect(at(16).peakBytes).toBeGreaterThan(at(8).peakBytes);
  });
});

describe("planners", () => {
  const plan = (budgetBytes: number) => planTraining({ ...shape, batch: 4, budgetBytes });

  it("take the whole batch without recomputation when the budget is ample", () => {
    const p = plan(64 * GB);
    expect(p).toMatchObject({ fits: true, plan: { microBatch: 4, gradAccum: 1, checkpointing: false } });
  });

  it("prefer the largest micro-batch, recomputed, over a smaller plain one, and keep the headroom", () => {
    const p = plan(15 * 2 ** 30);
    expect(p).toMatchObject({ fits: true, plan: { microBatch: 4, checkpointing: true } });
    if (p.fits) expect(p.plan.peakBytes * (1 + ESTIMATE_TOLERANCE)).toBeLessThanOrEqual(15 * 2 ** 30);
  });

  it("shrink the micro-batch to a divisor of the batch as the budget tightens", () => {
    const one = estimateTrainPeak({ ...shape, microBatch: 1, checkpointing: true }).peakBytes;
    const p = plan(Math.ceil(one * (1 + ESTIMATE_TOLERANCE)) + 1);
    expect(p).toMatchObject({ fits: true, plan: { microBatch: 1, gradAccum: 4, checkpointing: true } });
    const three = planTraining({ ...shape, batch: 6, budgetBytes: 9 * GB });
    expect(three.fits && 6 % three.plan.microBatch === 0).toBe(true);
  });

  it("report the minimum a too-small budget would need", () => {
    const p = plan(4 * GB);
    const one = estimateTrainPeak({ ...shape, microBatch: 1, checkpointing: true }).peakBytes;
    expect(p).toEqual({ fits: false, minimumBytes: Math.ceil(one * (1 + ESTIMATE_TOLERANCE)) });
  });

  it("pick the largest decode batch that fits", () => {
    const s = { config: c, promptLen: 512, maxNewTokens: 128, maxBatch: 16 };
    expect(planDecoding({ ...s, budgetBytes: 64 * GB })).toMatchObject({ fits: true, plan: { batch: 16 } });
    const eight = estimateDecodePeak({ ...s, batch: 8 }).peakBytes * (1 + ESTIMATE_TOLERANCE);
    expect(planDecoding({ ...s, budgetBytes: Math.ceil(eight) })).toMatchObject({
      fits: true,
      plan: { batch: 8 },
    });
    expect(planDecoding({ ...s, budgetBytes: 2 * GB }).fits).toBe(false);
  });

  it("default to 15 GiB on a GPU and 80% of RAM on the CPU", () => {
    expect(defaultBudget("cuda")).toBe(15 * 2 ** 30);
    expect(defaultBudget("cpu")).toBeGreaterThan(0);
  });
});

describe("sizes", () => {
  it.each([
    ["15GiB", 15 * 2 ** 30],
    ["800MB", 800e6],
    ["1.5 GB", 1.5e9],
    ["4096", 4096],
    ["12mib", 12 * 2 ** 20],
  ])("parses %s", (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it.each(["", "GiB", "-1GiB", "15 GiBs", "0", "ten"])("refuses %j", (text) => {
    expect(parseBytes(text)).toBeUndefined();
  });
});
