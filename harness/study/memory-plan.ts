/**
 * The memory plan of a run: under a budget (default: 15 GiB on CUDA, 80% of RAM otherwise), the
 * largest training micro-batch that fits, with per-layer recomputation only when it must, and the
 * largest decode batch up to the profile's. The run uses what the plan chose and the report records it.
 *
 * Peaks are estimated from the graphs' shapes with constants calibrated on this engine's measured
 * TinyLlama-shape step (fp32, LoRA r=8 q/v, 640-token rows: 3.4 GB of activations per row):
 *   resident   weights once on the device; on the CPU twice (the arrays we hold and the session's copy,
 *              onnxruntime-node keeps its own), plus a fixed runtime allowance;
 *   training   per row and layer, a part linear in the row length (saved projections, norms, MLP
 *              intermediates) and the attention scores and probabilities (2 × heads × T² floats), plus
 *              the head's logits for every position; with recomputation only each layer's input is
 *              kept, and one layer's activations live at a time;
 *   decoding   the KV cache for prompt + new tokens and the prefill's transient activations.
 */
import os from "node:os";
import type { LlamaConfig } from "../engine/checkpoint.ts";
import { countModelParams } from "../engine/lora.ts";
import type { Device } from "../engine/session.ts";
import { UserError } from "../errors.ts";

export interface MemoryPlan {
  device: Device;
  budget_bytes: number;
  train: { micro_batch: number; grad_accum: number; checkpointing: boolean; peak_bytes: number };
  decode: { batch: number; peak_bytes: number };
}

const GiB = 2 ** 30;
const F32 = 4;
/** Bytes saved per token per layer besides attention scores, at hidden 2048 / intermediate 5632. */
const LINEAR_BYTES_PER_TOKEN = (c: LlamaConfig) => F32 * (6 * c.hiddenSize + 1.2 * c.intermediateSize);
/** onnxruntime, CUDA context and workspaces, JS heap: what is there before any tensor. */
const RUNTIME_BYTES: Record<Device, number> = { cpu: 0.5 * GiB, webgpu: 0.5 * GiB, cuda: 0.6 * GiB };

const UNITS: Record<string, number> = {
  "": 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: GiB,
};

/** "15GiB", "16 GB", "800MiB", "1e9" → bytes. */
export function parseBytes(text: string, what = "--memory-budget"): number {
  const m = text.trim().match(/^(\d+(?:\.\d+)?(?:e\d+)?)\s*([a-z]*)$/i);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined || !(Number(m[1]) > 0))
    throw new UserError(`${what}: "${text}" is not a size (e.g. 15GiB, 16GB, 800MiB)`);
  return Math.floor(Number(m[1]) * unit);
}

export function defaultBudget(device: Device): number {
  return device === "cuda" ? 15 * GiB : Math.floor(0.8 * os.totalmem());
}

export function formatBytes(b: number): string {
  return `${(b / GiB).toFixed(2)} GiB`;
}

function residentBytes(c: LlamaConfig, device: Device): number {
  const weights = countModelParams(c) * F32;
  return (device === "cuda" ? weights : 2 * weights) + RUNTIME_BYTES[device];
}

/** Activations of one layer for one row of T tokens (what its backward needs). */
function layerBytes(c: LlamaConfig, T: number): number {
  return LINEAR_BYTES_PER_TOKEN(c) * T + 2 * c.numHeads * T * T * F32;
}

/** Peak of one training micro-batch of `rows` rows padded to T tokens. */
export function estimateTrainPeak(
  c: LlamaConfig,
  o: { device: Device; rows: number; seqLen: number; checkpointing: boolean },
): number {
  const T = o.seqLen;
  const head = 3 * T * c.vocabSize * F32; // logits, their softmax and its gradient
  const perRow = o.checkpointing
    ? c.numLayers * T * c.hiddenSize * F32 + 2 * layerBytes(c, T) + head
    : c.numLayers * layerBytes(c, T) + head;
  return residentBytes(c, o.device) + o.rows * perRow;
}

/** Peak of decoding `batch` prompts of up to P tokens for N new tokens. */
export function estimateDecodePeak(
  c: LlamaConfig,
  o: { device: Device; batch: number; promptLen: number; newTokens: number },
): number {
  const K = o.promptLen + o.newTokens;
  const kv = 2 * c.numLayers * c.numKvHeads * c.headDim * K * F32;
  const prefill = layerBytes(c, o.promptLen) + c.vocabSize * F32; // logits of the last position only
  return residentBytes(c, o.device) + o.batch * (kv + prefill);
}

export interface PlanInput {
  config: LlamaConfig;
  device: Device;
  budget: number;
  /** Rows per optimizer step before accumulation, and the profile's accumulation. */
  batchSize: number;
  gradAccum: number;
  /** The longest training row (prompt + target), in tokens. */
  trainSeqLen: number;
  decodeBatch: number;
  promptLen: number;
  newTokens: number;
}

/** The plan, or a UserError naming the budget and the least it would take. */
export function planMemory(i: PlanInput): MemoryPlan {
  const c = i.config;
  const train = (rows: number, checkpointing: boolean) =>
    estimateTrainPeak(c, { device: i.device, rows, seqLen: i.trainSeqLen, checkpointing });
  let chosen: MemoryPlan["train"] | null = null;
  for (let m = i.batchSize; m >= 1 && !chosen; m--) {
    for (const checkpointing of [false, true]) {
      const peak = train(m, checkpointing);
      if (peak <= i.budget) {
        chosen = {
          micro_batch: m,
          grad_accum: Math.ceil(i.batchSize / m) * i.gradAccum,
          checkpointing,
          peak_bytes: Math.round(peak),
        };
        break;
      }
    }
  }
  const decode = (b: number) =>
    estimateDecodePeak(c, { device: i.device, batch: b, promptLen: i.promptLen, newTokens: i.newTokens });
  let batch = i.decodeBatch;
  while (batch > 1 && decode(batch) > i.budget) batch = Math.ceil(batch / 2);
  const minimum = Math.max(train(1, true), decode(1));
  if (!chosen || decode(batch) > i.budget)
    throw new UserError(
      `memory budget ${formatBytes(i.budget)} on ${i.device} is too small: this profile needs at least ${formatBytes(minimum)} (training micro-batch 1 with layer recomputation, decoding one prompt at a time); raise --memory-budget`,
    );
  return {
    device: i.device,
    budget_bytes: i.budget,
    train: chosen,
    decode: { batch, peak_bytes: Math.round(decode(batch)) },
  };
}
