/**
 * Engine throughput on a random-weight model with TinyLlama's shapes (no download): a plain fp32
 * MatMul rate measured in the same process as the yardstick, LoRA training tokens/s and model FLOPs
 * utilisation, prefill and decode tokens/s, decode as a fraction of the weight-streaming bound, and
 * peak RSS. Figures only: nothing here asserts a time.
 */
import os from "node:os";
import { archFeatures, countModelParams, linearFlopsPerToken, llamaWeightNames } from "./architecture.ts";
import type { LlamaConfig } from "./checkpoint.ts";
import { Graph } from "./graph.ts";
import { initLora } from "./lora.ts";
import { disposeCache, type FArr, LlamaModel } from "./model.ts";
import { type StudyStepOptions, studyStepPerf } from "./perf-study.ts";
import { type Device, resolveThreads, Session } from "./session.ts";

export const TINYLLAMA_SHAPES: LlamaConfig = {
  modelType: "llama",
  hiddenSize: 2048,
  intermediateSize: 5632,
  numLayers: 22,
  numHeads: 32,
  numKvHeads: 4,
  headDim: 64,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  maxPositionEmbeddings: 2048,
  vocabSize: 32000,
  tieWordEmbeddings: false,
  bosTokenId: 1,
  eosTokenId: 2,
  ropeScaling: null,
};

/** google/gemma-2b(-it)'s shapes: head_dim 256 with 8 heads over one KV head, a tied 256000-row head. */
export const GEMMA_2B_SHAPES: LlamaConfig = {
  modelType: "gemma",
  hiddenSize: 2048,
  intermediateSize: 16384,
  numLayers: 18,
  numHeads: 8,
  numKvHeads: 1,
  headDim: 256,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  maxPositionEmbeddings: 8192,
  vocabSize: 256000,
  tieWordEmbeddings: true,
  bosTokenId: 2,
  eosTokenId: 1,
  ropeScaling: null,
};

/**
 * google/gemma-2-2b's shapes: 26 layers alternating sliding (window 4096) and full attention, 8 heads
 * over 4 KV heads of 256, attention and final logits soft-capped at 50 and 30, the tied 256000-row head.
 */
export const GEMMA2_2B_SHAPES: LlamaConfig = {
  ...GEMMA_2B_SHAPES,
  modelType: "gemma2",
  hiddenSize: 2304,
  intermediateSize: 9216,
  numLayers: 26,
  numKvHeads: 4,
  queryPreAttnScalar: 256,
  attnLogitSoftcapping: 50,
  finalLogitSoftcapping: 30,
  slidingWindow: 4096,
  layerTypes: Array.from({ length: 26 }, (_, i) => (i % 2 ? "full_attention" : "sliding_attention")),
};

/** A smaller model of the same architecture for smoke runs (`--quick`). */
export const QUICK_SHAPES: LlamaConfig = {
  ...TINYLLAMA_SHAPES,
  hiddenSize: 512,
  intermediateSize: 1408,
  numLayers: 4,
  numHeads: 8,
  numKvHeads: 2,
};

export interface PerfOptions {
  config: LlamaConfig;
  seqLen: number;
  trainSteps: number;
  decodeSteps: number;
  decodeBatch: number;
  /** The study's training step at its own shapes (see perf-study.ts); measured first. */
  study?: Omit<StudyStepOptions, "log">;
  /** Intra-op threads for the model and the yardsticks alike (default: resolveThreads()). */
  threads?: number;
  device?: Device;
  log?: (msg: string) => void;
}

/** Cheap deterministic weights: U(−a, a) from an xorshift stream (normal draws would take minutes at 1.1B). */
export function fastWeights(
  c: LlamaConfig,
  /** Sees each tensor as it is made; returning false drops it (e.g. once quantized), so they never coexist. */
  take?: (name: string, a: Float32Array) => boolean,
): Map<string, Float32Array> {
  const shapes = llamaWeightNames(c).map(({ name, shape }): [string, number] => [
    name,
    shape[0] * (shape[1] ?? 1),
  ]);
  let s = 0x9e3779b9;
  const out = new Map<string, Float32Array>();
  for (const [name, n] of shapes) {
    const a = new Float32Array(n);
    if (name.endsWith("norm.weight")) a.fill(archFeatures(c).normPlusOne ? 0 : 1);
    else
      for (let i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >>> 17;
        s ^= s << 5;
        a[i] = ((s >>> 0) / 4294967296 - 0.5) * 0.04;
      }
    if (!take || take(name, a)) out.set(name, a);
  }
  return out;
}

const WARMUP_RUNS = 3;

/** Where a yardstick runs: the model's device and thread count. */
export interface Yardstick {
  threads: number;
  device?: Device;
}

function bytes(x: Float32Array): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

/**
 * GFLOP/s of one fp32 MatMul [m,k]×[k,n] through onnxruntime-node, warm (after warm-up runs) and with
 * the model's thread count, so MFU compares like with like (best of `reps`).
 */
export async function matmulGflops(at: Yardstick, m = 512, k = 2048, n = 2048, reps = 8): Promise<number> {
  // B is resident in the session like a model weight; only A crosses into each run.
  const g = new Graph("float32");
  const a = g.input("a", [m, k]);
  const b = g.external("b", [k, n]);
  g.output(g.matmul(a, b), "y");
  const B = new Float32Array(k * n).fill(0.25);
  const s = await Session.create(g.toBytes(), { ...at, externalData: [{ path: "b", data: bytes(B) }] });
  const A = new Float32Array(m * k).fill(0.5);
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < WARMUP_RUNS + reps; i++) {
    const t0 = performance.now();
    await s.run({ a: { data: A, dims: [m, k] } });
    if (i >= WARMUP_RUNS) best = Math.min(best, performance.now() - t0);
  }
  await s.release();
  return (2 * m * k * n) / (best / 1000) / 1e9;
}

/**
 * Read bandwidth in bytes/s as onnxruntime sees it: a row-wise ReduceSum over a buffer far larger than
 * cache (reads every byte once, writes almost nothing, parallel over rows like a decode step's GEMVs).
 */
export async function readBandwidth(at: Yardstick, size = 1024 * 2 ** 20, reps = 5): Promise<number> {
  const cols = 16384;
  const rows = size / 4 / cols;
  // The buffer is resident (as weights are); overridable, so constant folding cannot precompute y.
  const g = new Graph("float32");
  const x = g.external("x", [rows, cols], { overridable: true });
  g.output(g.reduceSum(x, [1], false), "y");
  const X = new Float32Array(rows * cols).fill(1);
  const s = await Session.create(g.toBytes(), { ...at, externalData: [{ path: "x", data: bytes(X) }] });
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < WARMUP_RUNS + reps; i++) {
    const t0 = performance.now();
    await s.run({});
    if (i >= WARMUP_RUNS) best = Math.min(best, performance.now() - t0);
  }
  await s.release();
  return size / (best / 1000);
}

/** The study step alone, in a process of its own (peak RSS is then the step's): `perf --study-only`. */
export async function studyPerf(
  o: Pick<PerfOptions, "config" | "device" | "threads" | "log"> & { study: Omit<StudyStepOptions, "log"> },
) {
  const threads = resolveThreads(o.threads);
  const model = new LlamaModel(o.config, fastWeights(o.config) as Map<string, FArr>, {
    threads,
    device: o.device,
    ownsWeights: true,
  });
  const study_step = await studyStepPerf(model, { ...o.study, log: o.log });
  await model.dispose();
  return { threads, study_step };
}

export async function enginePerf(o: PerfOptions) {
  const log = o.log ?? (() => {});
  const c = o.config;
  const threads = resolveThreads(o.threads);
  log(`building random weights with ${c.numLayers} layers, hidden ${c.hiddenSize}…`);
  const weights = fastWeights(c);
  const weightsBytes = [...weights.values()].reduce((n, w) => n + w.byteLength, 0);
  const model = new LlamaModel(c, weights as Map<string, FArr>, {
    threads,
    device: o.device,
    ownsWeights: true,
  });
  // First, while the process's peak RSS is still the study step's own.
  const studyStep = o.study ? await studyStepPerf(model, { ...o.study, log }) : undefined;
  const yardstick = () => matmulGflops({ threads, device: o.device });
  log("measuring the read bandwidth…");
  const bw = await readBandwidth({ threads, device: o.device });
  const T = o.seqLen;
  const ids = Array.from({ length: T }, (_, t) => 1 + ((t * 7919) % (c.vocabSize - 1)));

  const { mm, ...train } = await loraStepFigures(model, ids, o.trainSteps, yardstick, log);

  log(`prefill of ${T} tokens…`);
  const mask = [Array.from({ length: T }, () => true)];
  const pos = [Array.from({ length: T }, (_, t) => t)];
  await model.decodeStep([ids.slice(0, 8)], null, [mask[0].slice(0, 8)], [pos[0].slice(0, 8)]);
  const p0 = performance.now();
  await model.decodeStep([ids], null, mask, pos);
  const prefillS = (performance.now() - p0) / 1000;

  log(`decode, batch ${o.decodeBatch}, ${o.decodeSteps} steps…`);
  await decodeTokensPerS(model, ids, 1, 2); // warm-up, as for the 4-bit and exported decodes
  const decode1 = await decodeTokensPerS(model, ids, 1, o.decodeSteps);
  const decodeB =
    o.decodeBatch > 1 ? await decodeTokensPerS(model, ids, o.decodeBatch, o.decodeSteps) : decode1;
  const decodeFed = await model.weightBytesFed("decode");
  // Host↔device traffic of the last batched step (a GPU device; the CPU moves nothing).
  const bytes = (t: Record<string, number>) => Object.values(t).reduce((a, b) => a + b, 0);
  const moved = { up: bytes(model.lastTransfer.up), down: bytes(model.lastTransfer.down) };
  await model.dispose();
  // A decode step reads every weight once, except the embedding table, of which it gathers one row
  // (a tied table is read whole as the head).
  const streamed = weightsBytes - (c.tieWordEmbeddings ? 0 : c.vocabSize * c.hiddenSize * 4);
  const streamBound = bw / streamed; // tokens/s if each step only streamed the weights once
  const peakRss = process.resourceUsage().maxRSS * 1024;
  return {
    threads,
    matmul_gflops: round(mm),
    read_bandwidth_gb_per_s: round(bw / 1e9),
    weights_bytes: weightsBytes,
    peak_rss_bytes: peakRss,
    peak_rss_over_weights: round(peakRss / weightsBytes),
    train,
    prefill: { tokens: T, seconds: round(prefillS), tokens_per_s: round(T / prefillS) },
    decode: {
      batch: 1,
      tokens_per_s: round(decode1),
      batched: { batch: o.decodeBatch, tokens_per_s: round(decodeB) },
      streamed_bytes_per_token: streamed,
      weight_stream_bound_tokens_per_s: round(streamBound),
      bandwidth_fraction: round(decode1 / streamBound, 3),
      weight_bytes_fed_per_run: decodeFed,
      ...(o.device && o.device !== "cpu" ? { bytes_moved_per_step: moved } : {}),
    },
    ...(studyStep ? { study_step: studyStep } : {}),
    machine: {
      cpu: os.cpus()[0]?.model ?? "unknown",
      cores: os.cpus().length,
      memory_bytes: os.totalmem(),
      platform: `${os.platform()} ${os.arch()}`,
      node: process.version,
    },
  };
}

/**
 * LoRA r=8 on q_proj, v_proj with the loss on every position (the head's worst case): seconds per
 * warm step, with and without per-layer recomputation, and model FLOPs utilisation against the warm
 * MatMul rate `mm`. Frozen weights need activation gradients but no weight gradients, so a step is
 * 2 × (weight matmuls + head + attention matmuls).
 */
async function loraStepFigures(
  model: LlamaModel,
  ids: number[],
  steps: number,
  yardstick: () => Promise<number>,
  log: (m: string) => void,
) {
  const c = model.config;
  const T = ids.length;
  const { body, head } = linearFlopsPerToken(c);
  const attnFwd = 2 * 2 * c.numLayers * c.numHeads * c.headDim * T * T; // QKᵀ and PV, per sequence
  const lora = initLora(
    c,
    { r: 8, alpha: 16, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false },
    0,
  );
  for (const [k, v] of lora.tensors) if (k.includes("lora_B")) v.fill(0.01);
  const batch = { inputIds: [ids], labels: [ids] };
  const timed = async (checkpointing: boolean) => {
    await model.lossAndGrads(batch, { lora, checkpointing }); // warm-up: builds the session
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) {
      await model.lossAndGrads(batch, { lora, checkpointing });
      log(`  step ${i + 1}/${steps}`);
    }
    return (performance.now() - t0) / 1000 / steps;
  };
  // The yardstick is the best rate the MatMul reaches: measured before and after the steps, the larger
  // counts (a shared machine can slow one measurement, never speed one up).
  log(`measuring the fp32 MatMul rate (512×2048×2048, ${model.threads} threads, warm)…`);
  const before = await yardstick();
  log(`LoRA training step at T=${T} (warm-up)…`);
  const trainS = await timed(false);
  const fed = await model.weightBytesFed("loss");
  await model.release("loss");
  log(`the same step with each layer recomputed in the backward pass…`);
  const recomputeS = await timed(true);
  await model.release("loss");
  const mm = Math.max(before, await yardstick());
  const flops = 2 * (body * T + head * (T - 1) + attnFwd);
  const gflops = flops / trainS / 1e9;
  return {
    mm,
    seq_len: T,
    lora: { r: 8, target_modules: ["q_proj", "v_proj"] },
    seconds_per_step: round(trainS),
    tokens_per_s: round(T / trainS),
    model_gflop_per_step: round(flops / 1e9),
    gflops: round(gflops),
    mfu: round(gflops / mm, 3),
    weight_bytes_fed_per_run: fed,
    recompute: {
      seconds_per_step: round(recomputeS),
      tokens_per_s: round(T / recomputeS),
      mfu: round(flops / recomputeS / 1e9 / mm, 3),
    },
    flops_note:
      "2×(weight matmuls + head + attention matmuls): forward plus the activation-gradient backward; frozen weights get no weight-gradient product",
  };
}

/**
 * The LoRA training step at Gemma-2B's shapes (GEMMA_2B_SHAPES with `layers` of its 18 layers: the
 * 256000-row tied head and embedding whole), beside the TinyLlama figures: the same MFU definition
 * against the same warm MatMul yardstick, measured in this process. Run it in a process of its own.
 */
export async function gemmaStepPerf(o: {
  layers: number;
  seqLen: number;
  trainSteps: number;
  threads?: number;
  device?: Device;
  log?: (msg: string) => void;
}) {
  const log = o.log ?? (() => {});
  const threads = resolveThreads(o.threads);
  const c = { ...GEMMA_2B_SHAPES, numLayers: o.layers };
  log(`Gemma-2B shapes with ${o.layers} of 18 layers: building random weights…`);
  const weights = fastWeights(c);
  const model = new LlamaModel(c, weights as Map<string, FArr>, {
    threads,
    device: o.device,
    ownsWeights: true,
  });
  const ids = Array.from({ length: o.seqLen }, (_, t) => 1 + ((t * 7919) % (c.vocabSize - 1)));
  const yardstick = () => matmulGflops({ threads, device: o.device });
  const { mm, ...train } = await loraStepFigures(model, ids, o.trainSteps, yardstick, log);
  await model.dispose();
  return {
    shapes: `Gemma-2B (${o.layers} of 18 layers, hidden 2048, 8 heads × head_dim 256 over 1 KV head, GeGLU 16384, tied vocab 256000)`,
    layers: o.layers,
    threads,
    matmul_gflops: round(mm),
    weights_bytes: countModelParams(c) * 4,
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    train,
  };
}

/** Decode rate at batch B: a 64-token prefill, then `steps` one-token steps (timed). */
export async function decodeTokensPerS(
  model: LlamaModel,
  ids: number[],
  B: number,
  steps: number,
): Promise<number> {
  const rows = Array.from({ length: B }, () => ids.slice(0, 64));
  const m = rows.map(() => Array.from({ length: 64 }, () => true));
  let step = await model.decodeStep(
    rows,
    null,
    m,
    rows.map(() => Array.from({ length: 64 }, (_, t) => t)),
  );
  const d0 = performance.now();
  for (let i = 0; i < steps; i++) {
    for (const r of m) r.push(true);
    const prev = step.cache;
    step = await model.decodeStep(
      rows.map(() => [5]),
      prev,
      m,
      rows.map(() => [64 + i]),
    );
    // On WebGPU the cache is device buffers: free each step's now, not at garbage collection.
    disposeCache(prev);
  }
  disposeCache(step.cache);
  return (B * steps) / ((performance.now() - d0) / 1000);
}

export function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
