/**
 * The memory plan of a run: under a budget (default: 15 GiB on a GPU, 80% of RAM on the CPU), the
 * largest training micro-batch that fits, with per-layer recomputation only when it must, and the
 * largest decode batch up to the profile's, from the engine's memory model (engine/memory.ts) at the
 * study's own shapes. The run uses what the plan chose; `plan --json` and the report show it.
 */
import type { LlamaConfig } from "../engine/checkpoint.ts";
import { defaultBudget, planDecoding, planTraining, parseBytes as readBytes } from "../engine/memory.ts";
import type { QuantSpec } from "../engine/quant/types.ts";
import type { Device } from "../engine/session.ts";
import { defaultStorage } from "../engine/storage.ts";
import { UserError } from "../errors.ts";

export interface MemoryPlan {
  device: Device;
  budget_bytes: number;
  train: { micro_batch: number; grad_accum: number; checkpointing: boolean; peak_bytes: number };
  decode: { batch: number; peak_bytes: number };
}

const GiB = 2 ** 30;

/** The --memory-budget flag: "15GiB", "16GB", "800MiB" → bytes, or one line naming the bad value. */
export function parseBytes(text: string): number {
  const b = readBytes(text);
  if (b === undefined)
    throw new UserError(`--memory-budget: "${text}" is not a size (e.g. 15GiB, 16GB, 800MiB)`);
  return b;
}

export function formatBytes(b: number): string {
  return `${(b / GiB).toFixed(2)} GiB`;
}

export interface PlanInput {
  config: LlamaConfig;
  device: Device;
  /** Default: defaultBudget(device). */
  budget?: number;
  /** Rows per optimizer step before accumulation, and the profile's accumulation. */
  batchSize: number;
  gradAccum: number;
  /** The longest training row (prompt + target) and the most labelled positions of a row. */
  trainSeqLen: number;
  labelsPerRow: number;
  lora: { r: number; targets: readonly string[]; dropout: boolean };
  decodeBatch: number;
  promptLen: number;
  newTokens: number;
  /** Every arm runs on this 4-bit base (otherwise the float arms bound the peak). */
  quant?: QuantSpec;
}

/** The plan, or a UserError naming the budget and the least it would take. */
export function planMemory(i: PlanInput): MemoryPlan {
  const budget = i.budget ?? defaultBudget(i.device);
  const weightBytes = defaultStorage(i.device) === "float16" ? 2 : 4;
  const train = planTraining({
    config: i.config,
    batch: i.batchSize,
    seqLen: i.trainSeqLen,
    labelsPerRow: i.labelsPerRow,
    lora: i.lora,
    weightBytes,
    quant: i.quant,
    budgetBytes: budget,
  });
  const decode = planDecoding({
    config: i.config,
    maxBatch: i.decodeBatch,
    promptLen: i.promptLen,
    maxNewTokens: i.newTokens,
    weightBytes,
    quant: i.quant,
    budgetBytes: budget,
  });
  if (!train.fits || !decode.fits) {
    const minimum = Math.max(train.fits ? 0 : train.minimumBytes, decode.fits ? 0 : decode.minimumBytes);
    throw new UserError(
      `memory budget ${formatBytes(budget)} on ${i.device} is too small: this profile needs at least ${formatBytes(minimum)} (${train.fits ? "decoding one prompt at a time" : "training micro-batch 1 with layer recomputation"}); raise --memory-budget`,
    );
  }
  return {
    device: i.device,
    budget_bytes: budget,
    train: {
      micro_batch: train.plan.microBatch,
      grad_accum: train.plan.gradAccum * i.gradAccum,
      checkpointing: train.plan.checkpointing,
      peak_bytes: train.plan.peakBytes,
    },
    decode: { batch: decode.plan.batch, peak_bytes: decode.plan.peakBytes },
  };
}
