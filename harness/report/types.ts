/**
 * GENERATED from reports/schema.json by `npm run generate:types` (harness/report/generate-types.ts).
 * Do not edit: change the schema and regenerate.
 */

/**
 * One lora-bench run: provenance, per-arm metrics over seeds, claim verdicts with evidence, timings. Written by the runner to reports/latest*.json and reports/history/<profile>/.
 */
export interface Report {
  /**
   * Bumped on any incompatible change of this schema.
   */
  schema_version: 1;
  /**
   * Bench profile the run used: "tiny" (embedded model, default), "tinyllama" or a custom one. Used in file names.
   */
  profile: string;
  /**
   * When the run finished (ISO 8601 date-time). Host/timing field: ignored by diff and stripVolatile.
   */
  created_at: string;
  provenance: Provenance;
  /**
   * Every arm of the plan (base, LoRA ranks, rsLoRA, N sweep…), each over all its seeds. Ids are unique.
   */
  arms: Arm[];
  /**
   * The study's claims and probes with their verdicts. Ids are unique.
   */
  claims: Claim[];
  timings: Timings;
}
/**
 * Everything needed to tell whether two reports are comparable.
 */
export interface Provenance {
  git: GitInfo;
  versions: Versions;
  host: HostInfo;
  /**
   * onnxruntime execution provider used.
   */
  device: "cpu" | "cuda" | "webgpu";
  model: ModelInfo;
  dataset: DatasetInfo;
  prompt: PromptInfo;
  rouge: RougeInfo;
  config: BenchConfigRecord;
  /**
   * onnxruntime intra-op threads of every session (--threads, LORA_BENCH_THREADS, else every core).
   */
  threads?: number;
  memory?: MemoryPlanInfo;
}
export interface GitInfo {
  /**
   * Full commit hash, null outside a git checkout.
   */
  commit: string | null;
  /**
   * Uncommitted changes in the work tree; null when unknown.
   */
  dirty: boolean | null;
}
export interface Versions {
  /**
   * package.json version.
   */
  lora_bench: string;
  /**
   * Engine version that enters the cache keys.
   */
  engine: string;
  /**
   * process.version.
   */
  node: string;
  /**
   * onnxruntime-node version.
   */
  onnxruntime: string;
}
/**
 * The machine. Host field: ignored by diff and stripVolatile.
 */
export interface HostInfo {
  os: string;
  cpu: string;
  cores: number;
  memory_bytes: number;
  /**
   * GPU name, null without one.
   */
  gpu: string | null;
}
export interface ModelInfo {
  /**
   * Hub id or local name, e.g. TinyLlama/TinyLlama-1.1B-Chat-v1.0.
   */
  id: string;
  /**
   * Hub revision (commit), null for a local model.
   */
  revision: string | null;
  /**
   * Hash over the model files.
   */
  sha256: string;
  /**
   * Total parameter count of the base model.
   */
  params: number;
}
export interface DatasetInfo {
  /**
   * Hub id or local name, e.g. abisee/cnn_dailymail (3.0.0).
   */
  id: string;
  revision: string | null;
  train: Subset;
  eval: Subset;
}
/**
 * A seeded selection of examples from one split.
 */
export interface Subset {
  split: string;
  n: number;
  /**
   * Hash over the selected examples' content.
   */
  sha256: string;
  /**
   * Example ids in order.
   */
  ids: string[];
}
export interface PromptInfo {
  /**
   * Chat template name or text.
   */
  template: string;
  /**
   * The instruction given with each article.
   */
  instruction: string;
  /**
   * Article tokens kept before truncation.
   */
  article_token_budget: number;
  /**
   * How many examples had their article truncated.
   */
  truncated_examples: number;
}
export interface RougeInfo {
  use_stemmer: boolean;
  /**
   * How the headline number aggregates examples.
   */
  headline: "mean";
  bootstrap_resamples: number;
  /**
   * How this ROUGE relates to the study's (evaluate / rouge_score defaults).
   */
  note: string;
}
/**
 * The full resolved bench config (free-form).
 */
export interface BenchConfigRecord {
  [k: string]: unknown;
}
/**
 * The memory plan the run obeyed (lora-bench plan --json shows the same block): the budget, the training micro-batch, accumulation and recomputation, the decode batch, and their estimated peaks.
 */
export interface MemoryPlanInfo {
  device: string;
  budget_bytes: number;
  train: {
    micro_batch: number;
    grad_accum: number;
    checkpointing: boolean;
    peak_bytes: number;
  };
  decode: {
    batch: number;
    peak_bytes: number;
  };
}
/**
 * One configuration evaluated over seeds.
 */
export interface Arm {
  /**
   * e.g. base, lora-r8, lora-r32, lora-r32-rslora, lora-r8-n250.
   */
  id: string;
  /**
   * Human label, e.g. "LoRA r=8".
   */
  label: string;
  kind: "base" | "lora";
  lora: LoraConfig | null;
  /**
   * The base's decoder linears in 4 bits (QLoRA), or null for the float base. Absent in reports written before quantized arms existed.
   */
  quantization?: Quantization | null;
  /**
   * Training examples; 0 for base.
   */
  train_n: number;
  trainable_params: number;
  total_params: number;
  seeds: SeedRun[];
  /**
   * Null when no seed of the arm succeeded (see seeds[].error).
   */
  metrics: null | ArmMetrics;
  /**
   * Null when no seed of the arm succeeded (see seeds[].error).
   */
  diagnostics: null | Diagnostics;
}
/**
 * PEFT LoraConfig fields of a LoRA arm.
 */
export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  target_modules: string[];
  /**
   * Scale by alpha/sqrt(r) instead of alpha/r.
   */
  use_rslora: boolean;
}
/**
 * 4-bit base weights: NF4 (QLoRA / bitsandbytes numerics) or int4 (onnxruntime MatMulNBits), blockwise along each weight row.
 */
export interface Quantization {
  type: "nf4" | "int4";
  block_size: number;
  /**
   * NF4's absmax values quantized again (8-bit, blocks of 256).
   */
  double_quant: boolean;
}
/**
 * One seed of one arm.
 */
export interface SeedRun {
  seed: number;
  status: "ok" | "failed";
  /**
   * Content address of this run in the cache.
   */
  cache_key: string;
  /**
   * Why the run failed (e.g. divergence at a step); null when ok.
   */
  error: SeedError | null;
  metrics: RougeScores | null;
  /**
   * Share of outputs flagged as continuing the article.
   */
  continuation_rate: number | null;
  /**
   * Training summary; null for the base arm.
   */
  train: TrainSummary | null;
  /**
   * Timing field.
   */
  eval_seconds: number;
}
export interface SeedError {
  step: number | null;
  reason: string;
}
export interface RougeScores {
  rouge1: number;
  rouge2: number;
  rougeL: number;
  rougeLsum: number;
}
export interface TrainSummary {
  steps: number;
  final_loss: number;
  /**
   * Timing field.
   */
  seconds: number;
}
export interface ArmMetrics {
  rouge1: MetricSummary;
  rouge2: MetricSummary;
  rougeL: MetricSummary;
  rougeLsum: MetricSummary;
}
/**
 * Mean over examples pooled across seeds, its 95% bootstrap CI, and the per-seed means.
 */
export interface MetricSummary {
  mean: number;
  low: number;
  high: number;
  per_seed: number[];
}
export interface Diagnostics {
  continuation_rate: number;
  mean_output_tokens: number;
  empty_rate: number;
  /**
   * Abstractiveness: share of output bigrams absent from the article.
   */
  novel_bigram_ratio: number | null;
}
/**
 * One claim of the study (or probe it invites) and its verdict.
 */
export interface Claim {
  id: string;
  /**
   * The study's sentence, e.g. "r=8 beats base on ROUGE-2".
   */
  name: string;
  /**
   * Spec file, e.g. benchmarks/rank-ablation.claims.ts.
   */
  spec: string;
  verdict: "holds" | "fails" | "inconclusive";
  kind: "compare" | "value" | "probe";
  metric: string | null;
  arms: string[];
  /**
   * What the study published for this claim.
   */
  study: StudyReference | null;
  evidence: Evidence;
}
export interface StudyReference {
  text: string;
  /**
   * Published numbers by metric, then arm id, e.g. {"rouge2": {"base": 0.092}}. Reports written before claims carried every metric hold one metric's numbers by arm id, e.g. {"base": 0.092}.
   */
  values: {
    [k: string]:
      | {
          [k: string]: number;
        }
      | number;
  };
}
/**
 * Statistics behind a verdict: paired bootstrap over evaluation examples pooled across seeds.
 */
export interface Evidence {
  /**
   * Difference in the metric (first arm minus second), or the value measured.
   */
  effect: number | null;
  /**
   * effect relative to the reference arm.
   */
  relative: number | null;
  /**
   * 95% CI of effect.
   */
  ci: [number, number] | null;
  p_value: number | null;
  /**
   * effect per seed.
   */
  per_seed: number[];
  n_examples: number;
  n_seeds: number;
  /**
   * Margin the effect had to clear, when the claim has one.
   */
  threshold: number | null;
  /**
   * One-line human explanation of the verdict.
   */
  detail: string;
  mde?: Mde;
  mde_study?: StudyMde;
}
/**
 * Minimum detectable effect of a design at 80% power, two-sided alpha 0.05 (normal approximation), from our per-example paired differences; Var = seed^2/K + example^2/n + interaction^2/(nK).
 */
export interface Mde {
  /**
   * Smallest |effect| detected with the given power.
   */
  effect: number;
  /**
   * Standard error of the effect under this design.
   */
  se: number;
  n_examples: number;
  n_seeds: number;
  alpha: number;
  power: number;
  /**
   * Example-to-example SD of one paired difference.
   */
  sd_example: number;
  /**
   * Example x training-run SD.
   */
  sd_interaction: number;
  /**
   * Training-run-to-run SD, which more examples cannot average away.
   */
  sd_seed: number;
  /**
   * False when only one seed was run: sd_seed is then unknown and counted as 0.
   */
  seed_variance_known: boolean;
}
/**
 * The study's design (100 examples, one run) under our variance components, and its power at the effect it reported.
 */
export interface StudyMde {
  /**
   * Smallest |effect| detected with the given power.
   */
  effect: number;
  /**
   * Standard error of the effect under this design.
   */
  se: number;
  n_examples: number;
  n_seeds: number;
  alpha: number;
  power: number;
  /**
   * Example-to-example SD of one paired difference.
   */
  sd_example: number;
  /**
   * Example x training-run SD.
   */
  sd_interaction: number;
  /**
   * Training-run-to-run SD, which more examples cannot average away.
   */
  sd_seed: number;
  /**
   * False when only one seed was run: sd_seed is then unknown and counted as 0.
   */
  seed_variance_known: boolean;
  /**
   * The study's published effect (first arm minus second), when it published both values.
   */
  reported_effect: number | null;
  power_at_reported: number | null;
  /**
   * Whether the study's design could detect its reported effect, in words.
   */
  note: string;
}
/**
 * Wall-clock seconds. Timing field: ignored by diff and stripVolatile.
 */
export interface Timings {
  total_s: number;
  /**
   * Seconds per arm id (training + evaluation, all seeds; ~0 when served from cache).
   */
  arms: {
    [k: string]: number;
  };
  /**
   * Per arm, the run's two phases as the process that computed the arm measured them: training every unit of the arm, then decoding every unit (one weight-holding session at a time). Absent for arms served from cache by an older version.
   */
  phases?: {
    [k: string]: ArmPhases;
  };
}
export interface ArmPhases {
  /**
   * Training phase; null for the base arm.
   */
  train: Phase | null;
  decode: Phase | null;
}
export interface Phase {
  /**
   * Wall time of the phase.
   */
  seconds: number;
  /**
   * Peak resident memory of the process during the phase (Linux: its own high-water mark, reset at the phase start).
   */
  peak_rss_bytes: number;
}
