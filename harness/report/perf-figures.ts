/**
 * The README's engine figures, rendered from reports/perf.json so that they cannot go stale:
 * `lora-bench perf` rewrites the marked section whenever it writes that file.
 */
import { readFileSync } from "node:fs";
import { fsError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { replaceSection } from "./readme.ts";

/** The fields of `lora-bench perf`'s output that the README quotes. */
export interface PerfFigures {
  created_at: string;
  matmul_gflops: number;
  weights_bytes: number;
  peak_rss_over_weights: number;
  train: { seq_len: number; lora: { r: number }; tokens_per_s: number; mfu: number };
  prefill: { tokens_per_s: number };
  read_bandwidth_gb_per_s: number;
  decode: {
    tokens_per_s: number;
    streamed_bytes_per_token: number;
    batched: { batch: number; tokens_per_s: number };
    bandwidth_fraction: number;
  };
  machine: { cpu: string; cores: number };
  quant: {
    nf4: { weights_over_fp32: number; train_over_fp32: number; decode_tokens_per_s: number };
    int4: {
      decode_tokens_per_s: number;
      decode_tokens_per_s_fp32_alternating: number;
      decode_over_fp32_alternating: number;
    };
  };
  study_step: {
    batch: number;
    seq_len: number;
    micro_batch: number;
    checkpointing: boolean;
    peak_rss_bytes: number;
    planned_peak_bytes: number;
    tokens_per_s: number;
  };
}

const n = (x: number, d: number) => x.toFixed(d);
const gb = (bytes: number) => n(bytes / 1e9, 2);

export function renderPerf(p: PerfFigures): string {
  return [
    `Measured ${p.created_at.slice(0, 10)} on a ${p.machine.cores}-core ${p.machine.cpu} (one run; a shared`,
    `machine is noisy): LoRA r=${p.train.lora.r} training at sequence length ${p.train.seq_len} reached`,
    `${n(p.train.mfu, 2)} of the plain fp32 MatMul rate measured in the same process (${n(p.train.tokens_per_s, 1)}`,
    `tokens/s against ${n(p.matmul_gflops, 0)} GFLOP/s), decoding one sequence ran at ${n(p.decode.tokens_per_s, 1)} tokens/s`,
    `(${n(p.decode.batched.tokens_per_s, 1)} tokens/s for a batch of ${p.decode.batched.batch}), streaming the weights at ${n((p.decode.tokens_per_s * p.decode.streamed_bytes_per_token) / 1e9, 1)} GB/s, ${n(p.decode.bandwidth_fraction, 2)}×`,
    `the ${n(p.read_bandwidth_gb_per_s, 1)} GB/s that onnxruntime's own row-wise ReduceSum reads,`,
    `prefill ran at ${n(p.prefill.tokens_per_s, 0)} tokens/s, and peak RSS was ${n(p.peak_rss_over_weights, 2)}× the`,
    `${n(p.weights_bytes / 1e9, 1)} GB of fp32 weights. The study's own training step (${p.study_step.batch} rows × ${p.study_step.seq_len} tokens,`,
    `micro-batch ${p.study_step.micro_batch}, layer recomputation ${p.study_step.checkpointing ? "on" : "off"}) peaked at ${gb(p.study_step.peak_rss_bytes)} GB RSS, the weights`,
    `plus ${gb(p.study_step.peak_rss_bytes - p.weights_bytes)} GB, against ${gb(p.study_step.planned_peak_bytes)} GB planned, and ran at ${n(p.study_step.tokens_per_s, 1)} tokens/s.`,
    `With 4-bit decoder linears, int4 decoding ran at ${n(p.quant.int4.decode_tokens_per_s, 1)} tokens/s against fp32's ${n(p.quant.int4.decode_tokens_per_s_fp32_alternating, 1)} in`,
    `alternating rounds (${n(p.quant.int4.decode_over_fp32_alternating, 2)}×); NF4 held the weights in ${n(p.quant.nf4.weights_over_fp32, 3)} of fp32's bytes and trained at`,
    `${n(p.quant.nf4.train_over_fp32, 2)} of fp32's speed, but decodes at ${n(p.quant.nf4.decode_tokens_per_s, 1)} tokens/s (its MatMulBnb4 kernel is slower than fp32's MatMul).`,
  ].join("\n");
}

/** Rewrite the README's perf section from `perf`; returns whether the file changed. */
export function updateReadmePerf(readmePath: string, perf: PerfFigures): boolean {
  let text: string;
  try {
    text = readFileSync(readmePath, "utf8");
  } catch (err) {
    throw fsError(err, readmePath);
  }
  const next = replaceSection(text, "perf", renderPerf(perf), readmePath);
  if (next === text) return false;
  writeFileAtomic(readmePath, next);
  return true;
}
