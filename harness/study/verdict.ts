/**
 * Verdicts for the study's claims, from per-example scores pooled across seeds.
 *
 * A comparison claim "A beats B on m" holds when the paired bootstrap 95% CI of Δ = A − B lies
 * above the threshold (default 0), fails when it lies below, and is inconclusive otherwise. Several
 * metrics: holds if all hold, fails if any fails. The same numbers a reader would want — Δ, the CI,
 * the permutation p-value, Δ per seed, relative change — are the evidence.
 */
import type { LlamaConfig } from "../engine/checkpoint.ts";
import { countLoraParams, countModelParams } from "../engine/lora.ts";
import { mean } from "../metrics/aggregate.ts";
import { bootstrapMeanCI, pairedCompare } from "../metrics/paired.ts";
import { rngStream } from "../rng.ts";
import type { ResolvedArm } from "./plan.ts";

export type Metric = "rouge1" | "rouge2" | "rougeL" | "rougeLsum";
export type Verdict = "holds" | "fails" | "inconclusive";

/** What claims see of a study: per arm, per seed, per example. Built by the runner. */
export interface StudyData {
  profile: string;
  evalIds: string[];
  mainTrainN: number;
  model: { id: string; config: LlamaConfig; params: number };
  targetModules: string[];
  arms: ArmData[];
}

export interface ArmData extends Omit<ResolvedArm, "seeds"> {
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
}

export interface ClaimOutcome {
  verdict: Verdict;
  kind: "compare" | "value" | "probe";
  metric: string | null;
  arms: string[];
  evidence: {
    effect: number | null;
    relative: number | null;
    ci: [number, number] | null;
    p_value: number | null;
    per_seed: number[];
    n_examples: number;
    n_seeds: number;
    threshold: number | null;
    detail: string;
  };
}

export type StudyValues = Record<string, number>;

export type ClaimSpec =
  | { better: string; than: string; metric: Metric | Metric[]; threshold?: number; study?: StudyValues }
  | { worse: string; than: string; metric: Metric | Metric[]; threshold?: number; study?: StudyValues }
  | {
      trainableFraction: string;
      approx: number;
      tolerance: number;
      exact?: number;
      architecture?: "model" | LlamaConfig;
    }
  | { continuation: string; atLeast: number }
  | { sweep: { small: number; large: number }; metric: Metric };

const fmt = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : String(x));

function okRuns(a: ArmData): RunData[] {
  return a.runs.filter((r) => r.status === "ok" && r.scores);
}

function need(study: StudyData, id: string): ArmData | string {
  const a = study.arms.find((x) => x.id === id);
  if (!a) return `arm "${id}" is not in this study's plan`;
  if (okRuns(a).length === 0) {
    const why = a.runs.find((r) => r.error)?.error?.reason;
    return `arm "${id}" has no successful run${why ? ` (${why})` : ""}`;
  }
  return a;
}

/** Evidence with no numbers, only a sentence (value checks without statistics, missing arms…). */
export function bareEvidence(detail: string): ClaimOutcome["evidence"] {
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

function inconclusive(
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
    },
  };
}

function combine(parts: ClaimOutcome[]): ClaimOutcome {
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

export function evaluateSpec(name: string, spec: ClaimSpec, study: StudyData): ClaimOutcome {
  if ("better" in spec || "worse" in spec) {
    const [x, y, dir] =
      "better" in spec
        ? [spec.better, spec.than, "greater" as const]
        : [spec.worse, spec.than, "less" as const];
    const metrics = Array.isArray(spec.metric) ? spec.metric : [spec.metric];
    const a = need(study, x);
    const b = need(study, y);
    if (typeof a === "string" || typeof b === "string")
      return inconclusive(
        "compare",
        metrics.join(","),
        [x, y],
        [a, b].filter((m) => typeof m === "string").join("; "),
      );
    return combine(metrics.map((m) => compareArms(a, b, m, spec.threshold ?? 0, name, dir)));
  }
  if ("trainableFraction" in spec) return fractionClaim(spec, study);
  if ("continuation" in spec) return continuationClaim(name, spec, study);
  return sweepProbe(name, spec, study);
}

function fractionClaim(
  spec: Extract<ClaimSpec, { trainableFraction: string }>,
  study: StudyData,
): ClaimOutcome {
  const arm = study.arms.find((a) => a.id === spec.trainableFraction);
  if (!arm || arm.r === null)
    return inconclusive(
      "value",
      null,
      [spec.trainableFraction],
      `arm "${spec.trainableFraction}" is not a LoRA arm of this study`,
    );
  const cfg = !spec.architecture || spec.architecture === "model" ? study.model.config : spec.architecture;
  const onModel = cfg === study.model.config;
  const settings = {
    r: arm.r,
    alpha: arm.alpha ?? 1,
    dropout: 0,
    targetModules: study.targetModules,
    useRslora: arm.useRslora,
  };
  const count = countLoraParams(cfg, settings);
  const total = countModelParams(cfg);
  const frac = count / total;
  const exactOk = spec.exact === undefined || spec.exact === count;
  const verdict: Verdict = exactOk && Math.abs(frac - spec.approx) <= spec.tolerance ? "holds" : "fails";
  return {
    verdict,
    kind: "value",
    metric: "trainable_fraction",
    arms: [arm.id],
    evidence: {
      effect: frac,
      relative: null,
      ci: null,
      p_value: null,
      per_seed: [],
      n_examples: 0,
      n_seeds: 0,
      threshold: spec.approx,
      detail: `${count.toLocaleString("en-US")} of ${total.toLocaleString("en-US")} parameters = ${(100 * frac).toFixed(3)}% at r=${arm.r} on ${study.targetModules.join("+")} (${onModel ? "this profile's model" : "TinyLlama-1.1B's architecture"})${spec.exact !== undefined ? `; expected exactly ${spec.exact.toLocaleString("en-US")}` : ""}`,
    },
  };
}

function continuationClaim(
  name: string,
  spec: Extract<ClaimSpec, { continuation: string }>,
  study: StudyData,
): ClaimOutcome {
  const a = need(study, spec.continuation);
  if (typeof a === "string") return inconclusive("value", "continuation_rate", [spec.continuation], a);
  const runs = okRuns(a).filter((r) => r.continued);
  const perExample = study.evalIds.map((_, i) => mean(runs.map((r) => (r.continued![i] ? 1 : 0))));
  const rate = mean(perExample);
  const ci = bootstrapMeanCI(perExample, rngStream(name, "claim/continuation"), 2000);
  const verdict: Verdict =
    ci.low > spec.atLeast ? "holds" : ci.high < spec.atLeast ? "fails" : "inconclusive";
  return {
    verdict,
    kind: "value",
    metric: "continuation_rate",
    arms: [a.id],
    evidence: {
      effect: rate,
      relative: null,
      ci: [ci.low, ci.high],
      p_value: null,
      per_seed: runs.map((r) => mean(r.continued!.map((c) => (c ? 1 : 0)))),
      n_examples: perExample.length,
      n_seeds: runs.length,
      threshold: spec.atLeast,
      detail: `${a.id} continued the article in ${(100 * rate).toFixed(1)}% of outputs [${(100 * ci.low).toFixed(1)}, ${(100 * ci.high).toFixed(1)}] (threshold ${(100 * spec.atLeast).toFixed(0)}%)`,
    },
  };
}

/** Future work 1: the smallest N at which the larger rank beats the smaller one, if any. */
function sweepProbe(
  name: string,
  spec: Extract<ClaimSpec, { sweep: unknown }>,
  study: StudyData,
): ClaimOutcome {
  const { small, large } = spec.sweep;
  const byN = (r: number) =>
    new Map(
      study.arms
        .filter((a) => a.kind === "lora" && a.r === r && !a.useRslora)
        .map((a) => [a.trainN, a] as const),
    );
  const S = byN(small);
  const L = byN(large);
  const ns = [...S.keys()].filter((n) => L.has(n)).sort((x, y) => x - y);
  if (ns.length < 2)
    return inconclusive(
      "probe",
      spec.metric,
      [],
      `the sweep needs r=${small} and r=${large} at two or more N (have ${ns.join(", ") || "none"})`,
    );
  const steps = ns.map((n) => {
    const a = L.get(n)!;
    const b = S.get(n)!;
    if (!okRuns(a).length || !okRuns(b).length)
      return { n, o: inconclusive("compare", spec.metric, [a.id, b.id], `N=${n}: a run failed`) };
    return { n, o: compareArms(a, b, spec.metric, 0, `${name}/n${n}`) };
  });
  const first = steps.find((s) => s.o.verdict === "holds");
  const allFail = steps.every((s) => s.o.verdict === "fails");
  const pick = first ?? steps[steps.length - 1];
  const table = steps
    .map((s) => `N=${s.n}: Δ ${fmt(s.o.evidence.effect ?? Number.NaN, 4)} (${s.o.verdict})`)
    .join("; ");
  return {
    ...pick.o,
    verdict: first ? "holds" : allFail ? "fails" : "inconclusive",
    kind: "probe",
    evidence: {
      ...pick.o.evidence,
      detail: `${first ? `r=${large} first beats r=${small} at N=${first.n}` : allFail ? `r=${large} stays below r=${small} at every N up to ${ns.at(-1)}` : `no N up to ${ns.at(-1)} where r=${large} clearly beats r=${small}`}. ${table}`,
    },
  };
}
