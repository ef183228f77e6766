/**
 * What changed between two reports, and whether it is a regression. Only results are compared:
 * timing and host fields never enter.
 *
 * Regression (exit 1 in `lora-bench diff`), per the harness issue:
 *   - a claim that held now fails;
 *   - a metric of an arm present in both reports whose B mean lies outside A's 95% CI, in either
 *     direction: the harness reproduces a study, so a shift beyond the noise is a change to look
 *     at even when it is an improvement (the table marks ▲/▼).
 * Not a regression, but shown: held → inconclusive ("weakened": the CI now straddles zero, which
 * noise alone can do; a real drop also moves the metric out of its CI), arms and claims added or
 * removed (a filtered run drops them).
 */
import type { MetricKey } from "./study.ts";
import { METRICS } from "./study.ts";
import type { Claim, Report } from "./types.ts";

type Verdict = Claim["verdict"];

export interface MetricDelta {
  arm: string;
  metric: MetricKey;
  a: number;
  b: number;
  delta: number;
  /** A's 95% CI. */
  a_ci: [number, number];
  /** Where B's mean lies relative to A's CI. */
  outside: "above" | "below" | null;
}

export type ClaimChangeKind = "same" | "regression" | "weakened" | "improved" | "added" | "removed";

export interface ClaimChange {
  id: string;
  name: string;
  a: Verdict | null;
  b: Verdict | null;
  change: ClaimChangeKind;
}

export interface DiffResult {
  profiles: [string, string];
  metrics: MetricDelta[];
  claims: ClaimChange[];
  arms: { added: string[]; removed: string[] };
  regression: boolean;
  /** One line per reason for `regression`. */
  reasons: string[];
}

const RANK: Record<Verdict, number> = { fails: 0, inconclusive: 1, holds: 2 };

export function classify(a: Verdict | null, b: Verdict | null): ClaimChangeKind {
  if (a === null) return "added";
  if (b === null) return "removed";
  if (a === b) return "same";
  if (a === "holds" && b === "fails") return "regression";
  return RANK[b] < RANK[a] ? "weakened" : "improved";
}

export function diffReports(a: Report, b: Report): DiffResult {
  const aIds = new Set(a.arms.map((x) => x.id));
  const bIds = new Set(b.arms.map((x) => x.id));
  const metrics: MetricDelta[] = [];
  const lost: string[] = [];
  for (const armA of a.arms) {
    const armB = b.arms.find((x) => x.id === armA.id);
    if (!armB || !armA.metrics) continue;
    if (!armB.metrics) {
      lost.push(armA.id);
      continue;
    }
    for (const metric of METRICS) {
      const ma = armA.metrics[metric];
      const mb = armB.metrics[metric];
      const outside = mb.mean > ma.high ? "above" : mb.mean < ma.low ? "below" : null;
      metrics.push({
        arm: armA.id,
        metric,
        a: ma.mean,
        b: mb.mean,
        delta: mb.mean - ma.mean,
        a_ci: [ma.low, ma.high],
        outside,
      });
    }
  }

  const claims: ClaimChange[] = a.claims.map((ca) => {
    const cb = b.claims.find((x) => x.id === ca.id);
    return {
      id: ca.id,
      name: ca.name,
      a: ca.verdict,
      b: cb?.verdict ?? null,
      change: classify(ca.verdict, cb?.verdict ?? null),
    };
  });
  for (const cb of b.claims)
    if (!a.claims.some((x) => x.id === cb.id))
      claims.push({ id: cb.id, name: cb.name, a: null, b: cb.verdict, change: "added" });

  const reasons = [
    ...claims.filter((c) => c.change === "regression").map((c) => `claim "${c.name}" held and now fails`),
    ...lost.map((id) => `arm ${id} had results and now has no successful seed`),
    ...metrics
      .filter((m) => m.outside)
      .map(
        (m) =>
          `${m.arm} ${m.metric} ${m.b.toFixed(3)} is ${m.outside} A's 95% CI [${m.a_ci[0].toFixed(3)}, ${m.a_ci[1].toFixed(3)}]`,
      ),
  ];
  return {
    profiles: [a.profile, b.profile],
    metrics,
    claims,
    arms: {
      added: [...bIds].filter((id) => !aIds.has(id)),
      removed: [...aIds].filter((id) => !bIds.has(id)),
    },
    regression: reasons.length > 0,
    reasons,
  };
}
