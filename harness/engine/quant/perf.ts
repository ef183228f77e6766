/**
 * 4-bit figures for `npm run perf` at the same shapes and protocol as the fp32 engine figures:
 * resident weight bytes, LoRA training tokens/s and the step's peak RSS (NF4), decode tokens/s at
 * batch 1 (int4 through prepacked MatMulNBits, and NF4). The float linears are quantized one at a
 * time as they are made, so no full fp32 copy ever exists in this process; run it in a fresh process
 * (the perf command does) so the RSS figures are the 4-bit model's own. Figures only: nothing is
 * asserted.
 */
import type { LlamaConfig } from "../checkpoint.ts";
import { initLora } from "../lora.ts";
import { type FArr, LlamaModel } from "../model.ts";
import { decodeTokensPerS, fastWeights, round } from "../perf.ts";
import { withPeakRss } from "../rss.ts";
import type { Device } from "../session.ts";
import { INT4_PREPACKED_ACCURACY_LEVEL } from "./kernels.ts";
import {
  type QuantSpec,
  type QuantTensor,
  quantBytes,
  quantizedLinears,
  quantizeLinear,
  resolveQuant,
} from "./spec.ts";

export interface QuantPerfOptions {
  config: LlamaConfig;
  seqLen: number;
  trainSteps: number;
  decodeSteps: number;
  threads?: number;
  device?: Device;
  log?: (msg: string) => void;
  /** Decode in alternating rounds with this (fp32) model and report the ratio of the medians. */
  against?: LlamaModel;
}

const DECODE_ROUNDS = 3;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function build(c: LlamaConfig, q: QuantSpec) {
  const shapes = new Map(quantizedLinears(c).map((l) => [l.name, l]));
  const quantized = new Map<string, QuantTensor>();
  let fp32Bytes = 0;
  let qBytes = 0;
  const weights = fastWeights(c, (name, a) => {
    fp32Bytes += a.byteLength;
    const l = shapes.get(name);
    if (!l) {
      qBytes += a.byteLength;
      return true;
    }
    const t = quantizeLinear(q, a, l.out, l.in);
    qBytes += quantBytes(t);
    quantized.set(name, t);
    return false;
  });
  return { weights: weights as Map<string, FArr>, quantized, fp32Bytes, qBytes };
}

async function onePerf(q: QuantSpec, o: QuantPerfOptions, train: boolean) {
  const log = o.log ?? (() => {});
  const c = o.config;
  log(
    `${q.type}: quantizing random weights (${c.numLayers} layers, hidden ${c.hiddenSize}) tensor by tensor…`,
  );
  const { weights, quantized, fp32Bytes, qBytes } = build(c, q);
  const model = new LlamaModel(c, weights, {
    threads: o.threads,
    device: o.device,
    quant: q,
    quantized,
    ownsWeights: true,
  });
  const T = o.seqLen;
  const ids = Array.from({ length: T }, (_, t) => 1 + ((t * 7919) % (c.vocabSize - 1)));
  const out: Record<string, unknown> = {
    block_size: q.blockSize,
    decode_kernel:
      q.type === "int4"
        ? `MatMulNBits prepacked, accuracy_level ${INT4_PREPACKED_ACCURACY_LEVEL} (int8 activations)`
        : "MatMulBnb4",
    weights_bytes: qBytes,
    weights_over_fp32: round(qBytes / fp32Bytes, 3),
  };
  if (train) {
    const lora = initLora(
      c,
      { r: 8, alpha: 16, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false },
      0,
    );
    for (const [k, v] of lora.tensors) if (k.includes("lora_B")) v.fill(0.01);
    const batch = { inputIds: [ids], labels: [ids] };
    log(`${q.type}: LoRA training step at T=${T} (warm-up)…`);
    const warm = await withPeakRss(() => model.lossAndGrads(batch, { lora }));
    const t0 = performance.now();
    const { peakRssBytes: peak } = await withPeakRss(async () => {
      for (let i = 0; i < o.trainSteps; i++) await model.lossAndGrads(batch, { lora });
    });
    const s = (performance.now() - t0) / 1000 / o.trainSteps;
    await model.release("loss");
    Object.assign(out, {
      train_seconds_per_step: round(s),
      train_tokens_per_s: round(T / s),
      peak_rss_bytes: Math.max(warm.peakRssBytes, peak),
    });
  }
  log(`${q.type}: decode, batch 1, ${o.decodeSteps} steps…`);
  await decodeTokensPerS(model, ids, 1, 2); // warm-up: the session, its prepacking and first allocations
  if (!o.against) out.decode_tokens_per_s = round(await decodeTokensPerS(model, ids, 1, o.decodeSteps));
  else {
    // Rounds that alternate with the fp32 model's, in this process: the ratio then does not depend on
    // how busy a shared machine was during one of two separate measurements.
    const against = o.against;
    await decodeTokensPerS(against, ids, 1, 2);
    const mine: number[] = [];
    const theirs: number[] = [];
    for (let r = 0; r < DECODE_ROUNDS; r++) {
      mine.push(await decodeTokensPerS(model, ids, 1, o.decodeSteps));
      theirs.push(await decodeTokensPerS(against, ids, 1, o.decodeSteps));
    }
    Object.assign(out, {
      decode_tokens_per_s: round(median(mine)),
      decode_tokens_per_s_fp32_alternating: round(median(theirs)),
      decode_over_fp32_alternating: round(median(mine) / median(theirs), 3),
      decode_rounds: DECODE_ROUNDS,
    });
  }
  await model.dispose();
  return { fp32Bytes, figures: out };
}

/** NF4 (training, decode, bytes) and int4 (decode, bytes) figures. */
export async function quantPerf(o: QuantPerfOptions) {
  const nf4 = await onePerf(resolveQuant({ type: "nf4" }, "perf"), o, true);
  // int4 decoding against fp32 decoding in alternating rounds (the fp32 model's weights on disk too).
  const fp32 = new LlamaModel(o.config, fastWeights(o.config) as Map<string, FArr>, {
    threads: o.threads,
    device: o.device,
    ownsWeights: true,
  });
  const int4 = await onePerf(resolveQuant({ type: "int4" }, "perf"), { ...o, against: fp32 }, false);
  await fp32.dispose();
  return {
    seq_len: o.seqLen,
    fp32_weights_bytes: nf4.fp32Bytes,
    note: "decoder linears in 4 bits, embeddings, norms and lm_head fp32; LoRA r=8 on q_proj,v_proj as in train",
    nf4: nf4.figures,
    int4: int4.figures,
    process_peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
}
