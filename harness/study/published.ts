/**
 * The study's published table (TinyLlama-1.1B-Chat, N=100, one run), keyed by metric and arm. The
 * claims (benchmarks/*.claims.ts), the README table and the chart all read it from here.
 */
import type { RougeType } from "../metrics/rouge.ts";

/** The study's three arms, in its table's order; any other arm is an "extra" (rsLoRA, N sweep…). */
export const STUDY_ARMS = ["base", "lora-r8", "lora-r32"] as const;
export type StudyArm = (typeof STUDY_ARMS)[number];

/** The metrics the study published (it did not report ROUGE-Lsum). */
export const PUBLISHED_METRICS = ["rouge1", "rouge2", "rougeL"] as const satisfies readonly RougeType[];
export type PublishedMetric = (typeof PUBLISHED_METRICS)[number];

export const PUBLISHED: Record<PublishedMetric, Record<StudyArm, number>> = {
  rouge1: { base: 0.221, "lora-r8": 0.224, "lora-r32": 0.135 },
  rouge2: { base: 0.092, "lora-r8": 0.104, "lora-r32": 0.055 },
  rougeL: { base: 0.138, "lora-r8": 0.149, "lora-r32": 0.085 },
};

export function isStudyArm(id: string): id is StudyArm {
  return (STUDY_ARMS as readonly string[]).includes(id);
}

/** The published value of one arm on one metric, if the study published it. */
export function publishedValue(metric: string, armId: string): number | undefined {
  const row = (PUBLISHED as Partial<Record<string, Record<string, number>>>)[metric];
  return row?.[armId];
}

/** The published values of some arms on some metrics, by metric then arm (absent ones left out). */
export function publishedValues(metrics: readonly string[], arms: readonly string[]) {
  const out: Record<string, Record<string, number>> = {};
  for (const m of metrics) {
    const row: Record<string, number> = {};
    for (const a of arms) {
      const v = publishedValue(m, a);
      if (v !== undefined) row[a] = v;
    }
    if (Object.keys(row).length) out[m] = row;
  }
  return out;
}
