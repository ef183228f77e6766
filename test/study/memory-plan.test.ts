import { describe, expect, it } from "vitest";
import config from "../../bench.config.ts";
import { countModelParams } from "../../harness/engine/architecture.ts";
import { ESTIMATE_TOLERANCE, estimateTrainPeak } from "../../harness/engine/memory.ts";
import { GEMMA_2B_SHAPES, TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import { quantizedWeightBytes, resolveQuant } from "../../harness/engine/quant/spec.ts";
import { formatBytes, type PlanInput, parseBytes, planMemory } from "../../harness/study/memory-plan.ts";
import { cli } from "../cli-helpers.ts";
import { makeSmallStudy } from "./small-study.ts";

const GiB = 2 ** 30;
// The tinyllama profile's shapes: batch 4, rows of prompt (≤ 512 article tokens + template) + 128 target.
const STUDY: PlanInput = {
  config: TINYLLAMA_SHAPES,
  device: "cuda",
  batchSize: 4,
  gradAccum: 1,
  trainSeqLen: 680,
  labelsPerRow: 128,
  lora: { r: 32, targets: ["q_proj", "v_proj"], dropout: true },
  decodeBatch: 16,
  promptLen: 560,
  newTokens: 128,
};

/** One row of the study's training shape, recomputed. */
const ONE_ROW = {
  config: TINYLLAMA_SHAPES,
  microBatch: 1,
  seqLen: 680,
  labelsPerRow: 128,
  checkpointing: true,
  lora: STUDY.lora,
};

describe("memory plan (the study's choices from engine/memory.ts)", () => {
  it("a 4-bit base: NF4 weights under a quarter of fp32's, and the plan's peaks drop by the difference", () => {
    const nf4 = resolveQuant({ type: "nf4" }, "test");
    const fp32 = countModelParams(TINYLLAMA_SHAPES) * 4;
    const q = quantizedWeightBytes(TINYLLAMA_SHAPES, nf4);
    expect(q / fp32).toBeLessThan(0.25);
    expect(q / fp32).toBeGreaterThan(0.2); // embeddings and head stay fp32
    const shape = ONE_ROW;
    const saved = estimateTrainPeak(shape).peakBytes - estimateTrainPeak({ ...shape, quant: nf4 }).peakBytes;
    expect(Math.abs(saved - (fp32 - q))).toBeLessThanOrEqual(1);
    const cpu = { ...STUDY, device: "cpu" as const, budget: 200 * GiB };
    const plain = planMemory(cpu);
    const quant = planMemory({ ...cpu, quant: nf4 });
    expect(plain.train.peak_bytes - quant.train.peak_bytes).toBeGreaterThan(0.7 * fp32);
    expect(plain.decode.peak_bytes - quant.decode.peak_bytes).toBeGreaterThan(0.7 * fp32);
  });

  it("reads the --memory-budget flag, and names a bad one", () => {
    expect(parseBytes("15GiB")).toBe(15 * GiB);
    expect(parseBytes("16GB")).toBe(16e9);
    expect(() => parseBytes("lots")).toThrow(/--memory-budget: "lots" is not a size/);
  });

  it("cuda defaults to 15 GiB and half-precision weights; a larger budget buys a larger micro-batch", () => {
    const t4 = planMemory(STUDY);
    expect(t4.budget_bytes).toBe(15 * GiB);
    expect(t4.train.peak_bytes * (1 + ESTIMATE_TOLERANCE)).toBeLessThanOrEqual(15 * GiB);
    expect(t4.decode.peak_bytes * (1 + ESTIMATE_TOLERANCE)).toBeLessThanOrEqual(15 * GiB);
    expect(t4.train.micro_batch * t4.train.grad_accum).toBe(4);
    const big = planMemory({ ...STUDY, budget: 200 * GiB });
    expect(big.train).toMatchObject({ micro_batch: 4, grad_accum: 1, checkpointing: false });
    expect(big.decode.batch).toBe(16);
    // Half-precision storage on CUDA: the plan's peak holds 2-byte weights, the cpu's 4-byte ones, one
    // copy on either (on the CPU the sessions map the weight files and the model drops its arrays).
    const shape = ONE_ROW;
    const cpu1 = planMemory({ ...STUDY, device: "cpu", budget: 200 * GiB, batchSize: 1 });
    expect(cpu1.train.peak_bytes).toBe(estimateTrainPeak({ ...shape, checkpointing: false }).peakBytes);
  });

  it("profile accumulation multiplies the plan's; too small a budget is one UserError naming it and the minimum", () => {
    expect(planMemory({ ...STUDY, budget: 200 * GiB, gradAccum: 2 }).train.grad_accum).toBe(2);
    expect(() => planMemory({ ...STUDY, budget: 2 * GiB })).toThrow(
      /memory budget 2\.00 GiB on cuda is too small: this profile needs at least \d+\.\d\d GiB \(training micro-batch 1 with layer recomputation\)/,
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

describe("the gemma-2b-it profile's memory plan (Gemma-2B: MQA, head_dim 256, tied 256000-row head)", () => {
  const p = config.profiles["gemma-2b-it"];
  // Rows of prompt (article budget + Gemma's turn markers and the instruction) + target, as for tinyllama.
  const GEMMA: PlanInput = {
    config: GEMMA_2B_SHAPES,
    device: "cuda",
    batchSize: p.training.batchSize,
    gradAccum: p.training.gradAccum,
    trainSeqLen: p.prompt.articleTokenBudget + 40 + p.prompt.maxTargetTokens,
    labelsPerRow: p.prompt.maxTargetTokens,
    lora: { r: 32, targets: p.lora.targetModules, dropout: p.lora.dropout > 0 },
    decodeBatch: p.decoding.batchSize,
    promptLen: p.prompt.articleTokenBudget + 48,
    newTokens: p.decoding.maxNewTokens,
  };

  it("fits the 15 GiB CUDA budget, with headroom, at the profile's batch", () => {
    expect(p.model.source).toBe("google/gemma-2b-it");
    expect(p.device).toBe("cuda");
    const plan = planMemory(GEMMA);
    expect(plan.budget_bytes).toBe(15 * GiB);
    expect(plan.train.peak_bytes * (1 + ESTIMATE_TOLERANCE)).toBeLessThanOrEqual(15 * GiB);
    expect(plan.decode.peak_bytes * (1 + ESTIMATE_TOLERANCE)).toBeLessThanOrEqual(15 * GiB);
    expect(plan.train.micro_batch * plan.train.grad_accum).toBe(p.training.batchSize);
    expect(plan.decode.batch).toBeGreaterThanOrEqual(1);
  });

  it("counts what Gemma's shapes make large: the tied head once and its float32 cast, head_dim, MQA, GeGLU", () => {
    const shape = {
      config: GEMMA_2B_SHAPES,
      microBatch: 1,
      seqLen: 680,
      labelsPerRow: 128,
      checkpointing: true,
      lora: GEMMA.lora,
      weightBytes: 2,
    };
    const e = estimateTrainPeak(shape);
    const params = countModelParams(GEMMA_2B_SHAPES);
    expect(params).toBeGreaterThan(2.5e9); // 2.506e9: the 524M-parameter embedding counted once
    expect(params).toBeLessThan(2.52e9);
    expect(e.parts.weights).toBe(params * 2);
    expect(e.parts.head_cast).toBe(256000 * 2048 * 4);
    expect(estimateTrainPeak({ ...shape, weightBytes: 4 }).parts.head_cast).toBe(0);
    // head_dim and the single KV head are read from the config, not derived from hidden / heads.
    const kept = (over: Partial<typeof GEMMA_2B_SHAPES>) =>
      estimateTrainPeak({ ...shape, checkpointing: false, config: { ...GEMMA_2B_SHAPES, ...over } }).parts
        .activations;
    expect(kept({ numKvHeads: 8 })).toBeGreaterThan(kept({}));
    expect(kept({ headDim: 128 })).toBeLessThan(kept({}));
    // GeGLU keeps three more [tokens, intermediate] tensors per layer alive than SwiGLU.
    expect(kept({}) - kept({ modelType: "llama" })).toBe(18 * 3 * 680 * 16384 * 4);
  });
});
