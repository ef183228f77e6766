/**
 * Hand-made valid reports for tests (the runner's tests reuse these). Defaults: profile "tiny",
 * the study's three arms over 3 seeds with means near the published table, and four claims.
 */
import type { Arm, Claim, MetricSummary, Report } from "../../harness/report/types.ts";

const SHA = (c: string) => c.repeat(64);

export type ArmOptions = Partial<Omit<Arm, "metrics">> & {
  /** Means by metric; CIs are mean ± halfWidth, per-seed values mean ± halfWidth/2. */
  means?: Partial<Record<keyof Arm["metrics"], number>>;
  halfWidth?: number;
};

export function metricSummary(mean: number, halfWidth = 0.01, seeds = 3): MetricSummary {
  const per_seed = Array.from({ length: seeds }, (_, i) =>
    round(mean + ((i - (seeds - 1) / 2) * halfWidth) / seeds),
  );
  return { mean, low: round(mean - halfWidth), high: round(mean + halfWidth), per_seed };
}

function round(x: number): number {
  return Math.round(x * 1e6) / 1e6;
}

export function makeArm(id: string, opts: ArmOptions = {}): Arm {
  const { means = {}, halfWidth = 0.01, ...rest } = opts;
  const kind = rest.kind ?? (id === "base" ? "base" : "lora");
  const r = Number(/-r(\d+)/.exec(id)?.[1] ?? 8);
  const m = { rouge1: 0.22, rouge2: 0.09, rougeL: 0.14, rougeLsum: 0.19, ...means };
  const seedIds = [0, 1, 2];
  return {
    id,
    label: kind === "base" ? "Base (zero-shot)" : `LoRA r=${r}`,
    kind,
    lora:
      kind === "base"
        ? null
        : {
            r,
            alpha: 16,
            dropout: 0.05,
            target_modules: ["q_proj", "v_proj"],
            use_rslora: id.includes("rslora"),
          },
    train_n: kind === "base" ? 0 : 100,
    trainable_params: kind === "base" ? 0 : 140_800 * r,
    total_params: 1_100_048_384,
    seeds: seedIds.map((seed) => ({
      seed,
      status: "ok" as const,
      cache_key: `${id}-${seed}-${SHA("c").slice(0, 16)}`,
      error: null,
      metrics: { rouge1: m.rouge1, rouge2: m.rouge2, rougeL: m.rougeL, rougeLsum: m.rougeLsum },
      continuation_rate: kind === "base" ? 0.3 : 0.05,
      train: kind === "base" ? null : { steps: 75, final_loss: 1.9, seconds: 12.5 + seed },
      eval_seconds: 4.25 + seed,
    })),
    metrics: {
      rouge1: metricSummary(m.rouge1, halfWidth),
      rouge2: metricSummary(m.rouge2, halfWidth),
      rougeL: metricSummary(m.rougeL, halfWidth),
      rougeLsum: metricSummary(m.rougeLsum, halfWidth),
    },
    diagnostics: {
      continuation_rate: kind === "base" ? 0.3 : 0.05,
      mean_output_tokens: 61.5,
      empty_rate: 0,
      novel_bigram_ratio: 0.12,
    },
    ...rest,
  };
}

export function makeClaim(id: string, overrides: Partial<Claim> = {}): Claim {
  return {
    id,
    name: id,
    spec: "benchmarks/rank-ablation.claims.ts",
    verdict: "holds",
    kind: "compare",
    metric: "rouge2",
    arms: ["lora-r8", "base"],
    study: null,
    evidence: {
      effect: 0.012,
      relative: 0.13,
      ci: [0.004, 0.02],
      p_value: 0.004,
      per_seed: [0.011, 0.012, 0.013],
      n_examples: 100,
      n_seeds: 3,
      threshold: null,
      detail: "paired bootstrap over 300 example×seed pairs",
    },
    ...overrides,
  };
}

export function defaultArms(): Arm[] {
  return [
    makeArm("base", { means: { rouge1: 0.221, rouge2: 0.092, rougeL: 0.138, rougeLsum: 0.2 } }),
    makeArm("lora-r8", { means: { rouge1: 0.226, rouge2: 0.104, rougeL: 0.149, rougeLsum: 0.21 } }),
    makeArm("lora-r32", { means: { rouge1: 0.135, rouge2: 0.055, rougeL: 0.085, rougeLsum: 0.12 } }),
  ];
}

export function defaultClaims(): Claim[] {
  return [
    makeClaim("r8-beats-base-rouge2", {
      name: "r=8 beats base on ROUGE-2",
      study: {
        text: "+13% relative ROUGE-2 over base",
        values: { rouge2: { base: 0.092, "lora-r8": 0.104 } },
      },
    }),
    makeClaim("r32-collapses", {
      name: "r=32 collapses at N=100",
      metric: "rouge1",
      arms: ["lora-r32", "base"],
      evidence: {
        ...makeClaim("x").evidence,
        effect: -0.086,
        relative: -0.39,
        ci: [-0.1, -0.07],
        p_value: 0.001,
      },
    }),
    makeClaim("r8-trains-0.1pct", {
      name: "r=8 trains ≈0.1% of parameters",
      kind: "value",
      metric: null,
      arms: ["lora-r8"],
      evidence: {
        ...makeClaim("x").evidence,
        effect: 0.001024,
        relative: null,
        ci: null,
        p_value: null,
        per_seed: [],
        threshold: 0.0005,
        detail: "1,126,400 of 1,100,048,384 parameters",
      },
    }),
    makeClaim("continuation-bias", {
      name: "base outputs show continuation bias",
      spec: "benchmarks/continuation.claims.ts",
      verdict: "inconclusive",
      kind: "probe",
      metric: "continuation_rate",
      arms: ["base"],
      evidence: { ...makeClaim("x").evidence, effect: 0.3, relative: null, ci: [-0.02, 0.5], p_value: 0.08 },
    }),
  ];
}

/** A valid report; top-level fields in `overrides` replace the defaults (arrays whole). */
export function makeReport(overrides: Partial<Report> = {}): Report {
  const arms = overrides.arms ?? defaultArms();
  return {
    schema_version: 1,
    profile: "tiny",
    created_at: "2025-11-29T14:03:07.412Z",
    provenance: {
      git: { commit: "0123456789abcdef0123456789abcdef01234567", dirty: false },
      versions: { lora_bench: "0.1.0", engine: "1", node: "v20.19.0", onnxruntime: "1.30.0" },
      host: { os: "linux 6.1", cpu: "Test CPU", cores: 2, memory_bytes: 24 * 2 ** 30, gpu: null },
      device: "cpu",
      model: { id: "lora-bench/tiny-llama", revision: null, sha256: SHA("a"), params: 1_100_048_384 },
      dataset: {
        id: "lora-bench/synthetic-news",
        revision: null,
        train: { split: "train", n: 2, sha256: SHA("b"), ids: ["t0", "t1"] },
        eval: { split: "test", n: 2, sha256: SHA("d"), ids: ["e0", "e1"] },
      },
      prompt: {
        template: "chatml",
        instruction: "Summarize the following article.",
        article_token_budget: 384,
        truncated_examples: 0,
      },
      rouge: { use_stemmer: true, headline: "mean", bootstrap_resamples: 1000, note: "rouge_score parity" },
      config: { seeds: [0, 1, 2], lr: 0.0002 },
    },
    arms,
    claims: defaultClaims(),
    timings: { total_s: 123.5, arms: Object.fromEntries(arms.map((a) => [a.id, 40])) },
    ...overrides,
  };
}
