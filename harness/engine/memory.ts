/**
 * A memory model of the engine: the peak bytes of a training step and of a decode step, from the
 * model's shapes alone, and planners that pick the largest micro-batch (and whether to recompute
 * layers) or decode batch that fits a budget.
 *
 * Activations are counted from the tensors the loss graph keeps alive in onnxruntime's execution
 * order (float32, per layer):
 *   - kept for the backward pass: the attention probabilities [B, heads, T, T], four [N, intermediate]
 *     (seven for Gemma's GeGLU, whose tanh GELU keeps x², tanh, ½x and 1 + tanh besides) and four
 *     [N, hidden] tensors, the queries [N, heads·hd] and keys [N, 2·kv·hd] (head_dim and the KV heads
 *     from the config: Gemma's multi-query attention keeps one KV head); Gemma-2 keeps one more
 *     [N, hidden] for its extra norms, one more [B, heads, T, T] (the tanh) when the attention logits
 *     are soft-capped, and one more logits-sized tensor when the final logits are;
 *   - with recomputation: each layer's input [N, hidden], plus the largest transient of one rebuilt
 *     layer (two [B, heads, T, T] tensors in the attention backward, or five [N, intermediate] in the
 *     MLP's, three more for GeGLU);
 *   - with half-precision weights, the head's float32 copy [vocab, hidden] while it multiplies (cast
 *     at each use, forward and backward): 0.26 GB for TinyLlama, 2.1 GB for Gemma's 256000-row head.
 * The runtime adds a base (the process, onnxruntime, the session's graph) and arena slack
 * proportional to the activations; both were calibrated by measuring peak RSS on this machine at
 * TinyLlama's shapes, and `npm run perf` reports the estimate next to the measured peak.
 */
import os from "node:os";
import { archFeatures, countLoraParams, countModelParams, linearShape } from "./architecture.ts";
import type { LlamaConfig } from "./checkpoint.ts";
import { slidingLayer } from "./gemma2.ts";
import { quantizedWeightBytes } from "./quant/spec.ts";
import type { QuantSpec } from "./quant/types.ts";
import type { Device } from "./session.ts";

/** The estimate is meant to be within this fraction of the measured peak; plans keep this headroom. */
export const ESTIMATE_TOLERANCE = 0.25;

/** The process and onnxruntime before any tensor (measured: node + ORT + a session's graph). */
const RUNTIME_BASE = 300 * 2 ** 20;
/** Arena slack and allocator fragmentation, as a fraction of the activations. */
const ARENA_SLACK = 0.1;
const F32 = 4;

export interface LoraShape {
  r: number;
  targets: readonly string[];
  /** Dropout masks are fed (one [N, in] float tensor per layer and target). */
  dropout: boolean;
}

export interface TrainShape {
  config: LlamaConfig;
  /** Rows per session run. */
  microBatch: number;
  /** Tokens per row (the longest row of a micro-batch). */
  seqLen: number;
  /** Labelled positions per row (the loss is taken only there). */
  labelsPerRow: number;
  checkpointing: boolean;
  lora: LoraShape;
  /** Bytes per stored weight element (4 for fp32, 2 for fp16 storage). */
  weightBytes?: number;
  /** Decoder linears in 4 bits (QLoRA): codes and scales instead of weightBytes per element. */
  quant?: QuantSpec;
  /** Copies of the weights the budget holds (see storedWeights); default 1. */
  weightCopies?: number;
}

export interface MemoryEstimate {
  peakBytes: number;
  /** What the peak is made of, in bytes. */
  parts: Record<string, number>;
}

export function weightBytes(c: LlamaConfig, bytesPerElement = F32): number {
  return countModelParams(c) * bytesPerElement;
}

/**
 * Copies of the frozen weights that count against a device's budget: one. On the CPU the sessions map
 * the weight files (weight-file.ts) and the model has dropped its arrays; on a GPU the budget is
 * device memory, which holds the session's one copy. (Handed over from memory, onnxruntime-node would
 * copy them into the session: a 4.1 GB TinyLlama-shaped model went from 4.2 to 8.3 GB RSS at session
 * creation. `weightCopies: 2` plans for that.)
 */
function storedWeights(s: {
  config: LlamaConfig;
  quant?: QuantSpec;
  weightBytes?: number;
  weightCopies?: number;
}) {
  const one = s.quant ? quantizedWeightBytes(s.config, s.quant) : weightBytes(s.config, s.weightBytes);
  return one * (s.weightCopies ?? 1);
}

/** The head's float32 copy while half-precision weights multiply (see the file comment). */
function headCast(s: { config: LlamaConfig; weightBytes?: number; quant?: QuantSpec }): number {
  // A 4-bit base keeps its head in float32 (quant/spec.ts): nothing to cast.
  const half = !s.quant && s.weightBytes !== undefined && s.weightBytes < F32;
  return half ? s.config.vocabSize * s.config.hiddenSize * F32 : 0;
}

function loraParams(c: LlamaConfig, l: LoraShape): number {
  return countLoraParams(c, { r: l.r, targetModules: l.targets });
}

/** Float32 elements the loss graph keeps alive at its peak (see the file comment). */
export function activationElements(s: TrainShape): number {
  const c = s.config;
  const B = s.microBatch;
  const T = s.seqLen;
  const N = B * T;
  const H = c.hiddenSize;
  const I = c.intermediateSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const probs = B * c.numHeads * T * T;
  // logits, their softmax, their gradient (and the tanh of Gemma-2's final cap)
  const logits = (c.finalLogitSoftcapping === undefined ? 3 : 4) * B * s.labelsPerRow * c.vocabSize;
  // With dropout the masked LoRA input of each target is kept too.
  const dropped = s.lora.dropout ? s.lora.targets.reduce((n, t) => n + N * linearShape(c, t).inF, 0) : 0;
  const geglu = archFeatures(c).activation === "gelu_tanh" ? 3 : 0;
  const capped = c.attnLogitSoftcapping === undefined ? 0 : 1;
  const hidden = archFeatures(c).sandwichNorms ? 5 : 4;
  const layer = (1 + capped) * probs + (4 + geglu) * N * I + hidden * N * H + N * q + 2 * N * kv + dropped;
  if (!s.checkpointing) return c.numLayers * layer + logits;
  const rebuilt = Math.max(
    (2 + capped) * probs + 3 * N * H + 2 * N * q + dropped,
    (5 + geglu) * N * I + hidden * N * H + dropped,
  );
  return c.numLayers * N * H + rebuilt + logits;
}

/** Peak bytes of one training step (one micro-batch's forward and backward, plus what persists). */
export function estimateTrainPeak(s: TrainShape): MemoryEstimate {
  const c = s.config;
  const N = s.microBatch * s.seqLen;
  const activations = activationElements(s) * F32;
  const parts = {
    weights: storedWeights(s),
    // fp32 tensors and graph gradients, float64 accumulated gradients and AdamW moments.
    lora_and_optimizer: loraParams(c, s.lora) * (4 + 4 + 8 + 16),
    dropout_masks: s.lora.dropout
      ? c.numLayers * s.lora.targets.reduce((n, t) => n + N * linearShape(c, t).inF, 0) * F32
      : 0,
    // rope tables and the additive attention bias (and its windowed copy for sliding layers).
    feeds: (2 * N * c.headDim + biases(c) * s.microBatch * s.seqLen * s.seqLen) * F32,
    head_cast: headCast(s),
    activations,
    runtime: RUNTIME_BASE + ARENA_SLACK * activations,
  };
  return { peakBytes: Math.ceil(sum(parts)), parts };
}

export interface DecodeShape {
  config: LlamaConfig;
  batch: number;
  /** Prompt tokens per row (the prefill) and tokens generated after it. */
  promptLen: number;
  maxNewTokens: number;
  weightBytes?: number;
  quant?: QuantSpec;
  weightCopies?: number;
}

/** Peak bytes of decoding: the prefill's transients or the KV cache at full length, whichever is larger. */
export function estimateDecodePeak(s: DecodeShape): MemoryEstimate {
  const c = s.config;
  const B = s.batch;
  const P = s.promptLen;
  const K = P + s.maxNewTokens;
  // past and present caches coexist during a step.
  const cache = 2 * 2 * c.numLayers * B * c.numKvHeads * K * c.headDim * F32;
  const scores = c.attnLogitSoftcapping === undefined ? 2 : 3;
  const prefill =
    (scores * B * c.numHeads * P * P + 3 * B * P * c.intermediateSize + 4 * B * P * c.hiddenSize) * F32;
  const parts = {
    weights: storedWeights(s),
    kv_cache: cache,
    activations: prefill,
    logits: B * c.vocabSize * F32,
    head_cast: headCast(s),
    runtime: RUNTIME_BASE + ARENA_SLACK * prefill,
  };
  return { peakBytes: Math.ceil(sum(parts)), parts };
}

/** The default budget: 15 GiB on a GPU (a T4's usable memory), 80% of RAM on the CPU. */
export function defaultBudget(device: Device): number {
  return device === "cpu" ? Math.floor(0.8 * os.totalmem()) : 15 * 2 ** 30;
}

export interface TrainPlan {
  microBatch: number;
  gradAccum: number;
  checkpointing: boolean;
  peakBytes: number;
}

export type PlanResult<P> = { fits: true; plan: P } | { fits: false; minimumBytes: number };

/**
 * The largest micro-batch dividing `batch` that fits `budgetBytes` with the estimate's headroom
 * (peak × (1 + ESTIMATE_TOLERANCE)), without recomputation if that fits, else with it. When nothing
 * fits, the budget the smallest configuration (one row, recomputed) would need.
 */
export function planTraining(
  s: Omit<TrainShape, "microBatch" | "checkpointing"> & { batch: number; budgetBytes: number },
): PlanResult<TrainPlan> {
  const need = (microBatch: number, checkpointing: boolean) =>
    estimateTrainPeak({ ...s, microBatch, checkpointing }).peakBytes;
  for (let m = s.batch; m >= 1; m--) {
    if (s.batch % m !== 0) continue;
    for (const checkpointing of [false, true]) {
      const peak = need(m, checkpointing);
      if (peak * (1 + ESTIMATE_TOLERANCE) <= s.budgetBytes)
        return {
          fits: true,
          plan: { microBatch: m, gradAccum: s.batch / m, checkpointing, peakBytes: peak },
        };
    }
  }
  return { fits: false, minimumBytes: Math.ceil(need(1, true) * (1 + ESTIMATE_TOLERANCE)) };
}

/** The largest decode batch up to `maxBatch` that fits the budget with the same headroom. */
export function planDecoding(
  s: Omit<DecodeShape, "batch"> & { maxBatch: number; budgetBytes: number },
): PlanResult<{ batch: number; peakBytes: number }> {
  for (let b = s.maxBatch; b >= 1; b--) {
    const peak = estimateDecodePeak({ ...s, batch: b }).peakBytes;
    if (peak * (1 + ESTIMATE_TOLERANCE) <= s.budgetBytes)
      return { fits: true, plan: { batch: b, peakBytes: peak } };
  }
  return {
    fits: false,
    minimumBytes: Math.ceil(estimateDecodePeak({ ...s, batch: 1 }).peakBytes * (1 + ESTIMATE_TOLERANCE)),
  };
}

/** Attention biases a graph holds: the causal one, and the windowed one when a layer slides. */
function biases(c: LlamaConfig): number {
  return Array.from({ length: c.numLayers }, (_, i) => slidingLayer(c, i)).includes(true) ? 2 : 1;
}

function sum(parts: Record<string, number>): number {
  return Object.values(parts).reduce((a, b) => a + b, 0);
}

const UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  KIB: 2 ** 10,
  MIB: 2 ** 20,
  GIB: 2 ** 30,
};

/** "15GiB", "800MB", "16000000000" → bytes; undefined when the text is not a size. */
export function parseBytes(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMG]i?B|B)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = UNITS[(m[2] ?? "").toUpperCase()];
  const n = Number(m[1]) * unit;
  return n > 0 ? Math.floor(n) : undefined;
}
