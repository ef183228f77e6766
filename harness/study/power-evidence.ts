/**
 * Power on a comparison claim: what our design (examples × seeds) and the study's (100 examples, one
 * training run) could detect, from our per-example paired differences and our seed-to-seed variance,
 * and, when the study published both arms' values, whether its reported effect was within reach.
 */
import {
  type Components,
  estimateComponents,
  type MdeSummary,
  mdeSummary,
  powerAt,
  seedDifferences,
  standardError,
} from "../metrics/power.ts";

/** The study's evaluation: one run of each arm scored on 100 CNN/DailyMail test articles. */
export const STUDY_DESIGN = { examples: 100, seeds: 1 } as const;

export interface StudyMde extends MdeSummary {
  /** The study's published Δ (first arm minus second) on this metric, when it published both. */
  reported_effect: number | null;
  /** Power of the study's design at that Δ. */
  power_at_reported: number | null;
  /** The sentence a reader gets. */
  note: string;
}

const f3 = (x: number) => x.toFixed(3);
const signed = (x: number) => `${x >= 0 ? "+" : "−"}${f3(Math.abs(x))}`;

function studyNote(m: MdeSummary, reported: number | null, power: number | null): string {
  const design = `its design (${m.n_examples} examples, ${m.n_seeds} run)`;
  const caveat = m.seed_variance_known
    ? ""
    : " (run-to-run variance unknown from a single seed here, so counted as 0: the true MDE is larger)";
  if (reported === null || power === null)
    return `The study's design (${m.n_examples} examples, ${m.n_seeds} run) detects |Δ| ≥ ${f3(m.effect)} with 80% power${caveat}.`;
  if (Math.abs(reported) < m.effect)
    return `The study's reported Δ ${signed(reported)} is smaller in size than the ${f3(m.effect)} ${design} could detect with 80% power (power ${(100 * power).toFixed(0)}%): one run on ${m.n_examples} examples could not reliably resolve it${caveat}.`;
  return `The study's reported Δ ${signed(reported)} is larger in size than the ${f3(m.effect)} ${design} could detect with 80% power (power ${(100 * power).toFixed(0)}%)${caveat}.`;
}

export function componentsOf(a: number[][], b: number[][]): Components {
  return estimateComponents(seedDifferences(a, b));
}

/** `mde` for our design and `mde_study` for the study's, from the arms' per-seed, per-example scores. */
export function powerEvidence(
  a: number[][],
  b: number[][],
  reported: number | null,
): { mde: MdeSummary; mde_study: StudyMde } {
  const c = componentsOf(a, b);
  const mde = mdeSummary(c, { examples: a[0].length, seeds: a.length });
  const study = mdeSummary(c, STUDY_DESIGN);
  const power = reported === null ? null : powerAt(reported, standardError(c, STUDY_DESIGN));
  return {
    mde,
    mde_study: {
      ...study,
      reported_effect: reported,
      power_at_reported: power,
      note: studyNote(study, reported, power),
    },
  };
}
