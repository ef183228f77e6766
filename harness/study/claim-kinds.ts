/**
 * The kinds of claim a study can make, each a typed spec with fixed keys and its evaluator. A claim
 * names its kind (`{ kind: "comparison", better: "lora-r8", than: "base", metric: "rouge2" }`); the
 * registry says which arms and metrics it reads, so a mistyped id is an error before anything is
 * judged. A new kind is one entry in CLAIM_KINDS.
 */
import { mean } from "../metrics/aggregate.ts";
import { equivalenceVerdict } from "../metrics/equivalence.ts";
import { bootstrapMeanCI } from "../metrics/paired.ts";
import { ROUGE_TYPES } from "../metrics/rouge.ts";
import type { Claim } from "../report/types.ts";
import { rngStream } from "../rng.ts";
import {
  type ArmData,
  bareEvidence,
  type ClaimOutcome,
  combine,
  compareArms,
  fmt,
  inconclusive,
  type Metric,
  need,
  okRuns,
  type StudyData,
  type Verdict,
} from "./verdict.ts";

type OneOrMore<T> = T | readonly T[];

/** A beats B on every listed metric (paired bootstrap CI of Δ above `threshold`). */
export interface ComparisonSpec<A extends string = string> {
  kind: "comparison";
  better: A;
  than: A;
  metric: OneOrMore<Metric>;
  threshold?: number;
}
/** An arm falls below another on every listed metric (the study's "r=32 collapses"). */
export interface CollapseSpec<A extends string = string> {
  kind: "collapse";
  arm: A;
  below: A;
  metric: OneOrMore<Metric>;
  threshold?: number;
}
/** One arm's mean on a metric lies within bounds (95% bootstrap CI over examples). */
export interface ValueSpec<A extends string = string> {
  kind: "value";
  arm: A;
  metric: Metric;
  atLeast?: number;
  atMost?: number;
}
/** The adapter the arm trained holds ≈ `approx` of the model's parameters (± tolerance). */
export interface FractionSpec<A extends string = string> {
  kind: "fraction";
  arm: A;
  approx: number;
  tolerance: number;
}
/** At least `atLeast` of the arm's outputs continue the article instead of summarising it. */
export interface ContinuationSpec<A extends string = string> {
  kind: "continuation";
  arm: A;
  atLeast: number;
}
/** The smallest N of the sweep at which rank `large` beats rank `small`, if any. */
export interface SweepSpec {
  kind: "sweep";
  small: number;
  large: number;
  metric: Metric;
}

/**
 * Two arms are equivalent on every listed metric: the paired 95% CI of Δ = arm − to lies inside
 * ±margin (holds), entirely outside it (fails), or straddles it (inconclusive).
 */
export interface EquivalenceSpec<A extends string = string> {
  kind: "equivalence";
  arm: A;
  to: A;
  metric: OneOrMore<Metric>;
  margin: number;
}

export type ClaimSpec<A extends string = string> =
  | ComparisonSpec<A>
  | EquivalenceSpec<A>
  | CollapseSpec<A>
  | ValueSpec<A>
  | FractionSpec<A>
  | ContinuationSpec<A>
  | SweepSpec;
export type ClaimKindName = ClaimSpec["kind"];

interface ClaimKind<S> {
  /** The arm ids the spec names (each must be in the study's plan). */
  arms(spec: S): string[];
  metrics(spec: S): readonly Metric[];
  evaluate(name: string, spec: S, study: StudyData): ClaimOutcome;
}

const list = <T>(x: OneOrMore<T>): readonly T[] => (Array.isArray(x) ? x : [x as T]);

function compareAll(
  name: string,
  [x, y]: [string, string],
  metrics: readonly Metric[],
  threshold: number,
  dir: "greater" | "less",
  study: StudyData,
): ClaimOutcome {
  const a = need(study, x);
  const b = need(study, y);
  if (typeof a === "string" || typeof b === "string")
    return inconclusive(
      "compare",
      metrics.join(","),
      [x, y],
      [a, b].filter((m) => typeof m === "string").join("; "),
    );
  return combine(metrics.map((m) => compareArms(a, b, m, threshold, name, dir)));
}

export const CLAIM_KINDS: { [K in ClaimKindName]: ClaimKind<Extract<ClaimSpec, { kind: K }>> } = {
  comparison: {
    arms: (s) => [s.better, s.than],
    metrics: (s) => list(s.metric),
    evaluate: (name, s, study) =>
      compareAll(name, [s.better, s.than], list(s.metric), s.threshold ?? 0, "greater", study),
  },
  collapse: {
    arms: (s) => [s.arm, s.below],
    metrics: (s) => list(s.metric),
    evaluate: (name, s, study) =>
      compareAll(name, [s.arm, s.below], list(s.metric), s.threshold ?? 0, "less", study),
  },
  equivalence: { arms: (s) => [s.arm, s.to], metrics: (s) => list(s.metric), evaluate: equivalenceClaim },
  value: { arms: (s) => [s.arm], metrics: (s) => [s.metric], evaluate: valueClaim },
  fraction: { arms: (s) => [s.arm], metrics: () => [], evaluate: (_n, s, study) => fractionClaim(s, study) },
  continuation: { arms: (s) => [s.arm], metrics: () => [], evaluate: continuationClaim },
  sweep: { arms: () => [], metrics: (s) => [s.metric], evaluate: sweepClaim },
};

/** Raised for a spec the study cannot judge at all: an unknown kind, arm or metric. */
export class ClaimSpecError extends Error {}

/** Check a spec against the study's plan; throws ClaimSpecError naming the first unknown id. */
export function checkSpec(spec: ClaimSpec, study: StudyData): void {
  const kind = CLAIM_KINDS[spec.kind] as ClaimKind<ClaimSpec> | undefined;
  if (!kind)
    throw new ClaimSpecError(
      `unknown claim kind "${String(spec.kind)}" (one of ${Object.keys(CLAIM_KINDS).join(", ")})`,
    );
  // An arm of another profile or config is legitimate (the claim is then inconclusive here); an id
  // nothing declares is a mistake in the claims file.
  for (const id of kind.arms(spec))
    if (!study.declaredArms.includes(id))
      throw new ClaimSpecError(`no arm "${id}" in the config (declared: ${study.declaredArms.join(", ")})`);
  for (const m of kind.metrics(spec))
    if (!(ROUGE_TYPES as readonly string[]).includes(m))
      throw new ClaimSpecError(`unknown metric "${m}" (one of ${ROUGE_TYPES.join(", ")})`);
}

export function specArms(spec: ClaimSpec): string[] {
  return (CLAIM_KINDS[spec.kind] as ClaimKind<ClaimSpec>).arms(spec);
}
export function specMetrics(spec: ClaimSpec): readonly Metric[] {
  return (CLAIM_KINDS[spec.kind] as ClaimKind<ClaimSpec>).metrics(spec);
}

export function evaluateSpec(name: string, spec: ClaimSpec, study: StudyData): ClaimOutcome {
  checkSpec(spec, study);
  return (CLAIM_KINDS[spec.kind] as ClaimKind<ClaimSpec>).evaluate(name, spec, study);
}

/** What a judged claim becomes in the report (reports/schema.json's Claim). */
export type ClaimRecord = Claim;

function valueClaim(name: string, spec: ValueSpec, study: StudyData): ClaimOutcome {
  const a = need(study, spec.arm);
  if (typeof a === "string") return inconclusive("value", spec.metric, [spec.arm], a);
  const runs = okRuns(a);
  const perExample = study.evalIds.map((_, i) => mean(runs.map((r) => r.scores![spec.metric][i])));
  const m = mean(perExample);
  const ci = bootstrapMeanCI(perExample, rngStream(name, "claim/value"), 2000);
  const lo = spec.atLeast ?? Number.NEGATIVE_INFINITY;
  const hi = spec.atMost ?? Number.POSITIVE_INFINITY;
  const verdict: Verdict =
    ci.low >= lo && ci.high <= hi ? "holds" : ci.high < lo || ci.low > hi ? "fails" : "inconclusive";
  return {
    verdict,
    kind: "value",
    metric: spec.metric,
    arms: [a.id],
    evidence: {
      effect: m,
      relative: null,
      ci: [ci.low, ci.high],
      p_value: null,
      per_seed: runs.map((r) => mean(r.scores![spec.metric])),
      n_examples: perExample.length,
      n_seeds: runs.length,
      threshold: spec.atLeast ?? spec.atMost ?? null,
      detail: `${a.id} ${spec.metric} ${fmt(m, 4)} [${fmt(ci.low, 4)}, ${fmt(ci.high, 4)}] against [${fmt(lo, 4)}, ${fmt(hi, 4)}]`,
    },
  };
}

function fractionClaim(spec: FractionSpec, study: StudyData): ClaimOutcome {
  const a = need(study, spec.arm);
  if (typeof a === "string") return inconclusive("value", "trainable_fraction", [spec.arm], a);
  if (a.kind !== "lora") throw new ClaimSpecError(`arm "${a.id}" trains no adapter`);
  const counts = [...new Set(okRuns(a).map((r) => r.adapterParams))];
  if (counts.length !== 1 || counts[0] === null)
    return inconclusive("value", "trainable_fraction", [a.id], `no single adapter size among ${a.id}'s runs`);
  const count = counts[0];
  const total = study.model.params;
  const frac = count / total;
  return {
    verdict: Math.abs(frac - spec.approx) <= spec.tolerance ? "holds" : "fails",
    kind: "value",
    metric: "trainable_fraction",
    arms: [a.id],
    evidence: {
      ...bareEvidence(
        `the trained adapter holds ${count.toLocaleString("en-US")} of the model's ${total.toLocaleString("en-US")} parameters = ${(100 * frac).toFixed(3)}% (r=${a.r} on ${study.targetModules.join("+")}, ${study.model.id}); ≈${(100 * spec.approx).toFixed(2)}% ± ${(100 * spec.tolerance).toFixed(2)} claimed`,
      ),
      effect: frac,
      threshold: spec.approx,
    },
  };
}

function continuationClaim(name: string, spec: ContinuationSpec, study: StudyData): ClaimOutcome {
  const a = need(study, spec.arm);
  if (typeof a === "string") return inconclusive("value", "continuation_rate", [spec.arm], a);
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

function sweepClaim(name: string, spec: SweepSpec, study: StudyData): ClaimOutcome {
  const { small, large } = spec;
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
    const a: ArmData = L.get(n)!;
    const b: ArmData = S.get(n)!;
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

function equivalenceClaim(name: string, spec: EquivalenceSpec, study: StudyData): ClaimOutcome {
  const metrics = list(spec.metric);
  const a = need(study, spec.arm);
  const b = need(study, spec.to);
  if (typeof a === "string" || typeof b === "string")
    return inconclusive(
      "compare",
      metrics.join(","),
      [spec.arm, spec.to],
      [a, b].filter((m) => typeof m === "string").join("; "),
    );
  return combine(
    metrics.map((m) => {
      // The same paired statistics as a comparison; only the verdict reads the CI against ±margin.
      const c = compareArms(a, b, m, 0, name);
      const [low, high] = c.evidence.ci ?? [Number.NaN, Number.NaN];
      return {
        ...c,
        verdict: equivalenceVerdict(low, high, spec.margin),
        evidence: {
          ...c.evidence,
          threshold: spec.margin,
          detail: `${c.evidence.detail}; equivalence margin ±${spec.margin}`,
        },
      };
    }),
  );
}
