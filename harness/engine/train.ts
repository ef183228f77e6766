/**
 * The training loop, shaped like Hugging Face's Trainer: shuffled batches, gradient accumulation
 * with the loss normalised by the label tokens of the whole accumulated batch, clipping by global
 * norm, torch's AdamW (decoupled weight decay) and a linear warm-up/decay schedule stepped after each
 * optimizer step. Works for a LoRA adapter or for every weight (full fine-tuning).
 *
 * Memory is bounded without changing the result: a batch runs as micro-batches of `microBatch` rows
 * (dropout masks are drawn per example, the loss normalised over the whole batch), and
 * `checkpointing` recomputes each layer in the backward pass instead of keeping its activations.
 */
import { UserError } from "../errors.ts";
import { type Rng, rngStream } from "../rng.ts";
import { dropoutMasks } from "./lora.ts";
import type { FArr, LlamaModel, LoraTensors } from "./model.ts";

export interface TrainExample {
  inputIds: number[];
  /** Same length as inputIds; -100 where no loss is taken (the prompt). */
  labels: number[];
}

export interface TrainOptions {
  epochs: number;
  /**
   * Stop after this many optimizer steps, which are then the schedule's total (HF's max_steps): epochs
   * repeat, reshuffled, as often as needed, and `epochs` is not used.
   */
  maxSteps?: number;
  lr: number;
  batchSize: number;
  gradAccum?: number;
  weightDecay?: number;
  /** Warm-up steps; or a ratio of the total when < 1 and > 0 is given as warmupRatio. */
  warmupSteps?: number;
  warmupRatio?: number;
  maxGradNorm?: number;
  betas?: [number, number];
  eps?: number;
  seed: number | string;
  /** LoRA dropout probability (masks drawn per example and epoch from the seed's "dropout" stream). */
  dropout?: number;
  /** Rows per forward/backward run (default: the whole batch). Does not change the result. */
  microBatch?: number;
  /** Recompute each decoder layer in the backward pass (gradient checkpointing). */
  checkpointing?: boolean;
  onStep?: (s: StepInfo) => void;
}

export interface StepInfo {
  step: number;
  totalSteps: number;
  epoch: number;
  loss: number;
  lr: number;
  gradNorm: number;
  tokens: number;
  tokensPerS: number;
  elapsedS: number;
  etaS: number;
}

/** Training stopped because the loss or a gradient stopped being finite. */
export class TrainingDiverged extends UserError {
  constructor(
    readonly step: number,
    readonly reason: string,
  ) {
    super(`training diverged at step ${step}: ${reason}`);
  }
}

/** HF's get_linear_schedule_with_warmup multiplier for optimizer step `k` (0-based). */
export function linearSchedule(k: number, warmup: number, total: number): number {
  if (k < warmup) return k / Math.max(1, warmup);
  return Math.max(0, (total - k) / Math.max(1, total - warmup));
}

export interface AdamState {
  m: Map<string, Float64Array>;
  v: Map<string, Float64Array>;
  t: number;
}

/** One torch.optim.AdamW step on every tensor in `grads` (in place on `params`). */
export function adamwStep(
  params: Map<string, FArr>,
  grads: Map<string, Float64Array>,
  state: AdamState,
  o: { lr: number; betas: [number, number]; eps: number; weightDecay: (name: string) => number },
): void {
  state.t += 1;
  const [b1, b2] = o.betas;
  const bc1 = 1 - b1 ** state.t;
  const bc2sqrt = Math.sqrt(1 - b2 ** state.t);
  const stepSize = o.lr / bc1;
  for (const [name, g] of grads) {
    const p = params.get(name)!;
    let m = state.m.get(name);
    let v = state.v.get(name);
    if (!m || !v) {
      m = new Float64Array(g.length);
      v = new Float64Array(g.length);
      state.m.set(name, m);
      state.v.set(name, v);
    }
    const decay = 1 - o.lr * o.weightDecay(name);
    for (let i = 0; i < g.length; i++) {
      const gi = g[i];
      m[i] = b1 * m[i] + (1 - b1) * gi;
      v[i] = b2 * v[i] + (1 - b2) * gi * gi;
      p[i] = p[i] * decay - (stepSize * m[i]) / (Math.sqrt(v[i]) / bc2sqrt + o.eps);
    }
  }
}

export interface TrainResult {
  curve: { step: number; loss: number; lr: number; gradNorm: number }[];
  steps: number;
  tokens: number;
  seconds: number;
}

export interface StepOptions {
  lora?: LoraTensors;
  /** Rows per session run (default: all rows at once). */
  microBatch?: number;
  checkpointing?: boolean;
  /** LoRA dropout: its probability and one stream per row (the row's example). */
  dropout?: { p: number; streams: Rng[] };
}

/**
 * Loss and gradients of `rows`, run `microBatch` rows at a time and summed into `grads` (float64).
 * Every micro-batch normalises by `normaliser`, the label tokens of the whole accumulated batch, and
 * each row's dropout mask comes from its own stream, so the sum does not depend on the split.
 */
export async function accumulateGradients(
  model: LlamaModel,
  rows: TrainExample[],
  normaliser: number,
  grads: Map<string, Float64Array>,
  o: StepOptions = {},
): Promise<{ loss: number; tokens: number }> {
  const lora = o.lora;
  const micro = o.microBatch ?? rows.length;
  const dropInputs = lora && o.dropout ? model.dropoutInputs({ ...lora.spec, dropout: true }) : [];
  let loss = 0;
  let tokens = 0;
  for (let r0 = 0; r0 < rows.length; r0 += micro) {
    const part = rows.slice(r0, r0 + micro);
    const lens = part.map((r) => r.inputIds.length);
    const masks =
      o.dropout && dropInputs.length
        ? dropoutMasks(
            dropInputs,
            o.dropout.streams.slice(r0, r0 + micro),
            lens,
            Math.max(...lens),
            o.dropout.p,
          )
        : undefined;
    const out = await model.lossAndGrads(
      { inputIds: part.map((r) => r.inputIds), labels: part.map((r) => r.labels), normaliser },
      { lora, trainable: lora ? "lora" : "all", masks, checkpointing: o.checkpointing },
    );
    loss += out.loss;
    tokens += lens.reduce((a, b) => a + b, 0);
    for (const [name, g] of out.grads) {
      const acc = grads.get(name);
      if (acc) for (let i = 0; i < g.length; i++) acc[i] += g[i];
      else grads.set(name, Float64Array.from(g));
    }
  }
  return { loss, tokens };
}

/**
 * Train `lora` (or, without it, every weight of the model) on `data`. Parameters are updated in place,
 * so the model's sessions see them on their next run.
 */
export async function train(
  model: LlamaModel,
  data: TrainExample[],
  opts: TrainOptions,
  lora?: LoraTensors,
): Promise<TrainResult> {
  if (data.length === 0) throw new UserError("training set is empty");
  const accum = opts.gradAccum ?? 1;
  const perEpoch = Math.ceil(Math.ceil(data.length / opts.batchSize) / accum);
  const total = opts.maxSteps ?? perEpoch * opts.epochs;
  const warmup = opts.warmupSteps ?? Math.ceil((opts.warmupRatio ?? 0) * total);
  const params: Map<string, FArr> = lora ? lora.tensors : model.weights;
  const state: AdamState = { m: new Map(), v: new Map(), t: 0 };
  const decayOf = (name: string) => (lora || !name.includes("norm") ? (opts.weightDecay ?? 0) : 0);
  const dropout = lora ? (opts.dropout ?? 0) : 0;
  const curve: TrainResult["curve"] = [];
  const t0 = performance.now();
  let tokensSeen = 0;
  let step = 0;

  for (let epoch = 0; step < total; epoch++) {
    const order = rngStream(opts.seed, "data-order")
      .child(`epoch-${epoch}`)
      .shuffle(data.map((_, i) => i));
    const masksOf = rngStream(opts.seed, "dropout").child(`epoch-${epoch}`);
    const batches: number[][] = [];
    for (let i = 0; i < order.length; i += opts.batchSize) batches.push(order.slice(i, i + opts.batchSize));
    for (let g0 = 0; g0 < batches.length && step < total; g0 += accum) {
      const group = batches.slice(g0, g0 + accum);
      const labelTokens = group.flat().reduce((n, i) => n + countLabels(data[i].labels), 0);
      const grads = new Map<string, Float64Array>();
      let loss = 0;
      for (const b of group) {
        const dropStreams = b.map((i) => masksOf.child(`example-${i}`));
        const out = await accumulateGradients(
          model,
          b.map((i) => data[i]),
          Math.max(1, labelTokens),
          grads,
          {
            lora,
            microBatch: opts.microBatch,
            checkpointing: opts.checkpointing,
            dropout: dropout > 0 ? { p: dropout, streams: dropStreams } : undefined,
          },
        );
        loss += out.loss;
        tokensSeen += out.tokens;
      }
      if (!Number.isFinite(loss)) throw new TrainingDiverged(step + 1, `loss is ${loss}`);
      const gradNorm = Math.sqrt(
        [...grads.values()].reduce((s, g) => s + g.reduce((a, x) => a + x * x, 0), 0),
      );
      if (!Number.isFinite(gradNorm)) throw new TrainingDiverged(step + 1, `gradient norm is ${gradNorm}`);
      const maxNorm = opts.maxGradNorm ?? 1;
      if (maxNorm > 0) {
        const coef = maxNorm / (gradNorm + 1e-6);
        if (coef < 1) for (const g of grads.values()) for (let i = 0; i < g.length; i++) g[i] *= coef;
      }
      const lr = opts.lr * linearSchedule(step, warmup, total);
      adamwStep(params, grads, state, {
        lr,
        betas: opts.betas ?? [0.9, 0.999],
        eps: opts.eps ?? 1e-8,
        weightDecay: decayOf,
      });
      step += 1;
      curve.push({ step, loss, lr, gradNorm });
      const elapsedS = (performance.now() - t0) / 1000;
      opts.onStep?.({
        step,
        totalSteps: total,
        epoch,
        loss,
        lr,
        gradNorm,
        tokens: tokensSeen,
        tokensPerS: tokensSeen / Math.max(elapsedS, 1e-9),
        elapsedS,
        etaS: (elapsedS / step) * (total - step),
      });
    }
  }
  return { curve, steps: step, tokens: tokensSeen, seconds: (performance.now() - t0) / 1000 };
}

function countLabels(labels: number[]): number {
  let n = 0;
  for (let t = 1; t < labels.length; t++) if (labels[t] !== -100) n++;
  return n;
}
