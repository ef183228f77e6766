/**
 * Equivalence of two arms within a margin, from the paired comparison's CI of Δ = A − B:
 *   holds        the whole 95% CI lies inside (−margin, +margin),
 *   fails        the whole CI lies outside [−margin, +margin] (entirely above or entirely below),
 *   inconclusive otherwise (the CI straddles a margin).
 * "Holds" is the two one-sided tests procedure at the 2.5% level each side (a 95% CI inside the
 * margin, stricter than the usual 90% TOST interval); "fails" is the mirror image, so both
 * verdicts need the data to rule the other side out.
 */
import { type ArmScores, type PairedOptions, type PairedResult, pairedCompare } from "./paired.ts";

export type EquivalenceVerdict = "holds" | "fails" | "inconclusive";

export function equivalenceVerdict(low: number, high: number, margin: number): EquivalenceVerdict {
  if (!(margin > 0)) throw new RangeError(`equivalence margin must be positive, got ${margin}`);
  if (!(low <= high)) throw new RangeError(`CI [${low}, ${high}] is not an interval`);
  if (low > -margin && high < margin) return "holds";
  if (low > margin || high < -margin) return "fails";
  return "inconclusive";
}

export interface EquivalenceResult extends PairedResult {
  margin: number;
  verdict: EquivalenceVerdict;
}

/** Paired comparison of A and B judged for equivalence within ±margin. */
export function pairedEquivalence(
  a: ArmScores,
  b: ArmScores,
  margin: number,
  opts: PairedOptions = {},
): EquivalenceResult {
  const r = pairedCompare(a, b, opts);
  return { ...r, margin, verdict: equivalenceVerdict(r.low, r.high, margin) };
}
