/**
 * The study's profiles. Everything the study leaves unsaid (lora_alpha, dropout, learning rate,
 * epochs, batch size, lengths, decoding) is explicit here and recorded in every report.
 *
 * - tiny (default): the embedded model (fixtures/tiny, a 2.4M-parameter Llama pretrained by this
 *   project on synthetic news) and the synthetic corpus; runs anywhere, on CPU, in minutes.
 * - tinyllama: the study itself — TinyLlama-1.1B-Chat on CNN/DailyMail 3.0.0 from the Hub; meant for
 *   a CUDA runner (see README), hours on CPU.
 * - tiny-gemma, gemma-2b-it: the same arms and claims on a Gemma: the embedded fixtures/tiny-gemma
 *   (CPU, minutes) and google/gemma-2b-it (CUDA runner, like tinyllama). The architecture changes
 *   only the model; the study is the same.
 */
import { type ArmConfig, defineConfig, type ProfileConfig } from "./harness/study/config.ts";

const STUDY_ARMS = [
  { id: "base", kind: "base" },
  { id: "lora-r8", kind: "lora", r: 8 },
  { id: "lora-r32", kind: "lora", r: 32 },
  // Probe: is r=32's collapse capacity or scaling? Same rank, alpha/√r instead of alpha/r.
  { id: "lora-r32-rslora", kind: "lora", r: 32, useRslora: true },
  // Future work 3: QLoRA, the base's decoder linears in NF4 (blocks of 64, as QLoRA and bitsandbytes).
  { id: "qlora-r8", kind: "lora", r: 8, quantization: { type: "nf4" } },
  { id: "qlora-r32", kind: "lora", r: 32, quantization: { type: "nf4" } },
] as const satisfies readonly ArmConfig[];

// The same instruction, adapter targets and scoring for every profile: only scale differs.
const INSTRUCTION = "Summarize the following news article in three or four sentences.";
const LORA = { alpha: 16, dropout: 0.05, targetModules: ["q_proj", "v_proj"] };
const ROUGE = { useStemmer: false, bootstrapResamples: 1000 };

const TINY = {
  description: "Embedded tiny Llama + synthetic CNN/DailyMail-like news; CPU, minutes.",
  model: { source: "fixtures/tiny" },
  dataset: {
    source: "fixtures/data/synthetic-news",
    config: "3.0.0",
    trainSplit: "train",
    evalSplit: "test",
  },
  data: { trainN: 100, evalN: 50, subsetSeed: 0 },
  seeds: [1, 2, 3],
  prompt: {
    instruction: INSTRUCTION,
    articleTokenBudget: 192,
    maxTargetTokens: 96,
  },
  lora: LORA,
  training: {
    epochs: 2,
    lr: 2e-3,
    batchSize: 4,
    gradAccum: 1,
    weightDecay: 0,
    warmupRatio: 0.1,
    maxGradNorm: 1,
  },
  decoding: { maxNewTokens: 64, batchSize: 25 },
  rouge: ROUGE,
  arms: STUDY_ARMS,
  sweep: { n: [100, 200], ranks: [8, 32], seeds: [1] },
  device: "cpu",
} satisfies ProfileConfig;

const TINYLLAMA = {
  description: "The study: TinyLlama-1.1B-Chat-v1.0 on CNN/DailyMail 3.0.0 (Hub); CUDA runner.",
  model: { source: "TinyLlama/TinyLlama-1.1B-Chat-v1.0" },
  dataset: { source: "abisee/cnn_dailymail", config: "3.0.0", trainSplit: "train", evalSplit: "test" },
  data: { trainN: 100, evalN: 100, subsetSeed: 0 },
  seeds: [1, 2, 3],
  prompt: {
    instruction: INSTRUCTION,
    articleTokenBudget: 512,
    maxTargetTokens: 128,
  },
  lora: LORA,
  training: {
    epochs: 3,
    lr: 2e-4,
    batchSize: 4,
    gradAccum: 1,
    weightDecay: 0,
    warmupRatio: 0.03,
    maxGradNorm: 1,
  },
  decoding: { maxNewTokens: 128, batchSize: 16 },
  rouge: ROUGE,
  arms: STUDY_ARMS,
  sweep: { n: [100, 250, 500, 1000], ranks: [8, 32], seeds: [1, 2, 3] },
  device: "cuda",
} satisfies ProfileConfig;

export default defineConfig({
  defaultProfile: "tiny",
  cacheDir: ".cache/lora-bench",
  reportsDir: "reports",
  readme: "README.md",
  profiles: {
    tiny: TINY,
    "tiny-gemma": {
      ...TINY,
      description:
        "Embedded tiny Gemma (fixtures/tiny-gemma) + synthetic news; the tiny study on Gemma; CPU.",
      model: { source: "fixtures/tiny-gemma" },
    },
    tinyllama: TINYLLAMA,
    "gemma-2b-it": {
      ...TINYLLAMA,
      description: "The study on Gemma: google/gemma-2b-it on CNN/DailyMail 3.0.0 (Hub); CUDA runner.",
      model: { source: "google/gemma-2b-it" },
    },
  },
});
