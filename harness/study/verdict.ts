/**
 * Verdicts for the study's claims, from per-example scores pooled across seeds.
 *
 * A comparison claim "A beats B on m" holds when the paired bootstrap 95% CI of Δ = A − B lies
 * above the threshold (default 0), fails when it lies below, and is inconclusive otherwise. Several
 * metrics: holds if all hold, fails if any fails. The same numbers a reader would want — Δ, the CI,
 * the permutation p-value, Δ per seed, relative change — are the evidence.
 */
import type { LlamaConfig } from "../engine/checkpoint.ts";
import { mean } from "../metrics/aggregate.ts";
import { pairedCompare } from "../metrics/paired.ts";
import type { RougeType } from "../metrics/rouge.ts";
import type { Claim, Evidence } from "../report/types.ts";
import type { ResolvedArm } from "./plan.ts";
import { powerEvidence } from "./power-evidence.ts";
import { publishedValue } from "./published.ts";

export type Metric = RougeType;
export type Verdict = Claim["verdict"];

/** What claims see of a study: per arm, per seed, per example. Built by the runner. */
export interface StudyData {
  profile: string;
  evalIds: string[];
  mainTrainN: number;
  /** `params`: counted from the checkpoint's weight files. */
  model: { id: string; config: LlamaConfig; params: number };
  targetModules: string[];
  arms: ArmData[];
  /** Every arm id the config declares in any profile (sweep arms included): the ids a claim may name. */
  declaredArms: string[];
}

export interface ArmData extends Omit<ResolvedArm, "seeds"> {
  /** LoRA parameters for this arm's settings on the profile's model (0 for base). */
  trainableParams: number;
  runs: RunData[];
}

export interface RunData {
  seed: number;
  status: "ok" | "failed";
  error: { step: number | null; reason: string } | null;
  scores: Record<Metric, number[]> | null;
  continued: boolean[] | null;
  outputTokens: number[];
  /** Parameters in the adapter this run trained, counted from its file (null: base or no adapter). */
  adapterParams: number | null;
}

/** A judged claim before the harness names it: the report's Claim less its identity and study reference. */
export type ClaimOutcome = Pick<Claim, "verdict" | "kind" | "metric" | "arms" | "evidence">;

export const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

export function okRuns(a: ArmData): RunData[] {
  return a.runs.filter((r) => r.status === "ok" && r.scores);
}

export function need(study: StudyData, id: string): ArmData | string {
  const a = study.arms.find((x) => x.id === id);
  if (!a) return `arm "${id}" is not in this study's plan`;
  if (okRuns(a).length === 0) {
    const why = a.runs.find((r) => r.error)?.error?.reason;
    return `arm "${id}" has no successful run${why ? ` (${why})` : ""}`;
  }
  return a;
}

/** Evidence with no numbers, only a sentence (value checks without statistics, missing arms…). */
export function bareEvidence(detail: string): Evidence {
  return {
    effect: null,
    relative: null,
    ci: null,
    p_value: null,
    per_seed: [],
    n_examples: 0,
    n_seeds: 0,
    threshold: null,
    detail,
  };
}

export function inconclusive(
  kind: ClaimOutcome["kind"],
  metric: string | null,
  arms: string[],
  detail: string,
): ClaimOutcome {
  return {
    verdict: "inconclusive",
    kind,
    metric,
    arms,
    evidence: bareEvidence(detail),
  };
}

/** Δ = A − B on one metric, pooled over seeds, with the verdict against a threshold. */
export function compareArms(
  a: ArmData,
  b: ArmData,
  metric: Metric,
  threshold: number,
  seed: string,
  direction: "greater" | "less" = "greater",
): ClaimOutcome {
  const A = okRuns(a).map((r) => r.scores![metric]);
  const B = okRuns(b).map((r) => r.scores![metric]);
  const res = pairedCompare(A, B, { seed, name: `claim/${metric}`, resamples: 2000, permutations: 10_000 });
  const meanB = mean(B.map((s) => mean(s)));
  // "greater": A beats B by more than the threshold; "less": A falls below B by more than it.
  const [lo, hi] =
    direction === "greater"
      ? [res.low - threshold, res.high - threshold]
      : [-res.high - threshold, -res.low - threshold];
  const verdict: Verdict = lo > 0 ? "holds" : hi < 0 ? "fails" : "inconclusive";
  const perSeed = A.map((s) => mean(s) - meanB);
  const pa = publishedValue(metric, a.id);
  const pb = publishedValue(metric, b.id);
  const power = powerEvidence(A, B, pa !== undefined && pb !== undefined ? pa - pb : null);
  return {
    verdict,
    kind: "compare",
    metric,
    arms: [a.id, b.id],
    evidence: {
      effect: res.delta,
      relative: meanB !== 0 ? res.delta / meanB : null,
      ci: [res.low, res.high],
      p_value: res.p,
      per_seed: perSeed,
      n_examples: res.examples,
      n_seeds: A.length,
      threshold,
      detail: `${a.id} − ${b.id} on ${metric}: Δ ${fmt(res.delta, 4)} [${fmt(res.low, 4)}, ${fmt(res.high, 4)}], p ${fmt(res.p, 4)}, ${A.length} seed(s) × ${res.examples} examples`,
      ...power,
    },
  };
}

export function combine(parts: ClaimOutcome[]): ClaimOutcome {
  if (parts.length === 1) return parts[0];
  const verdict: Verdict = parts.some((p) => p.verdict === "fails")
    ? "fails"
    : parts.every((p) => p.verdict === "holds")
      ? "holds"
      : "inconclusive";
  const first = parts[0];
  return {
    ...first,
    verdict,
    metric: parts.map((p) => p.metric).join(","),
    evidence: {
      ...first.evidence,
      detail: parts.map((p) => `${p.evidence.detail} → ${p.verdict}`).join("; "),
    },
  };
}
