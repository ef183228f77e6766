import { describe, expect, it } from "vitest";
import { TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import {
  estimateTrainPeak,
  formatBytes,
  type PlanInput,
  parseBytes,
  planMemory,
} from "../../harness/study/memory-plan.ts";
import { cli } from "../cli-helpers.ts";
import { makeSmallStudy } from "./small-study.ts";

const GiB = 2 ** 30;
// The tinyllama profile's shapes: batch 4, rows of prompt (≤ 512 article tokens + template) + 128 target.
const STUDY: PlanInput = {
  config: TINYLLAMA_SHAPES,
  device: "cuda",
  budget: 15 * GiB,
  batchSize: 4,
  gradAccum: 1,
  trainSeqLen: 680,
  decodeBatch: 16,
  promptLen: 560,
  newTokens: 128,
};

describe("memory plan", () => {
  it("reads sizes with binary and decimal units, and names a bad one", () => {
    expect(parseBytes("15GiB")).toBe(15 * GiB);
    expect(parseBytes("16 GB")).toBe(16e9);
    expect(parseBytes("800MiB")).toBe(800 * 2 ** 20);
    expect(parseBytes("1e9")).toBe(1e9);
    expect(() => parseBytes("lots")).toThrow(/--memory-budget: "lots" is not a size/);
    expect(() => parseBytes("0GiB")).toThrow(/not a size/);
  });

  it("the estimate follows this engine's measured TinyLlama step: 3.4 GB of activations per 640-token row", () => {
    const at = (rows: number, checkpointing = false) =>
      estimateTrainPeak(TINYLLAMA_SHAPES, { device: "cuda", rows, seqLen: 640, checkpointing });
    const perRow = at(2) - at(1);
    expect(perRow / 3.4e9).toBeGreaterThan(0.9);
    expect(perRow / 3.4e9).toBeLessThan(1.15);
    // Recomputation keeps each layer's input and one layer's activations: a fraction of that.
    expect(at(2, true) - at(1, true)).toBeLessThan(perRow / 4);
  });

  it("picks the largest micro-batch that fits, recomputing only when it must", () => {
    const big = planMemory({ ...STUDY, budget: 80 * GiB });
    expect(big.train).toMatchObject({ micro_batch: 4, grad_accum: 1, checkpointing: false });
    const t4 = planMemory(STUDY);
    expect(t4.train.micro_batch).toBeGreaterThanOrEqual(1);
    expect(t4.train.peak_bytes).toBeLessThanOrEqual(15 * GiB);
    expect(t4.decode.peak_bytes).toBeLessThanOrEqual(15 * GiB);
    // A budget between micro-batch 1 without and with recomputation: 1 row, recomputed.
    const noCkpt1 = estimateTrainPeak(TINYLLAMA_SHAPES, {
      device: "cuda",
      rows: 1,
      seqLen: 680,
      checkpointing: false,
    });
    const tight = planMemory({ ...STUDY, budget: noCkpt1 - 1 });
    expect(tight.train.checkpointing).toBe(true);
    expect(tight.train.grad_accum).toBe(Math.ceil(4 / tight.train.micro_batch));
    expect(tight.decode.batch).toBeLessThanOrEqual(16);
  });

  it("too small a budget: one UserError naming the budget and the minimum", () => {
    expect(() => planMemory({ ...STUDY, budget: 2 * GiB })).toThrow(
      /memory budget 2\.00 GiB on cuda is too small: this profile needs at least \d+\.\d\d GiB/,
    );
  });

  it("the CLI: plan --json carries the memory block; a run under too small a budget stops before training, exit 2", () => {
    const s = makeSmallStudy();
    const plan = cli(["plan", "--config", s.config, "--json", "--memory-budget", "8GiB"]);
    expect(plan.code, plan.stderr).toBe(0);
    const m = JSON.parse(plan.stdout).memory;
    expect(Object.keys(m)).toEqual(["device", "budget_bytes", "train", "decode"]);
    expect(m).toMatchObject({
      device: "cpu",
      budget_bytes: 8 * GiB,
      train: { micro_batch: 4, checkpointing: false },
    });
    expect(Object.keys(m.train)).toEqual(["micro_batch", "grad_accum", "checkpointing", "peak_bytes"]);
    expect(Object.keys(m.decode)).toEqual(["batch", "peak_bytes"]);
    const run = cli(["run", "--config", s.config, "--memory-budget", "100MiB"]);
    expect(run.code).toBe(2);
    const lines = run.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/memory budget 0\.10 GiB on cpu is too small: this profile needs at least/);
    expect(formatBytes(100 * 2 ** 20)).toBe("0.10 GiB");
  });
});
