/** What every report view shares: the metric keys, their labels, and the study's published table. */
import type { Arm, ArmMetrics, Report } from "./types.ts";

export type MetricKey = keyof ArmMetrics;
export const METRICS: readonly MetricKey[] = ["rouge1", "rouge2", "rougeL", "rougeLsum"];
export const METRIC_LABEL: Record<MetricKey, string> = {
  rouge1: "ROUGE-1",
  rouge2: "ROUGE-2",
  rougeL: "ROUGE-L",
  rougeLsum: "ROUGE-Lsum",
};

/** The study's three arms, in its table's order; any other arm is an "extra" (rsLoRA, N sweep…). */
export const STUDY_ARMS = ["base", "lora-r8", "lora-r32"] as const;

/** The study's published single-run values (TinyLlama-1.1B-Chat, N=100). rougeLsum was not published. */
export const STUDY_TABLE: Partial<Record<MetricKey, Record<(typeof STUDY_ARMS)[number], number>>> = {
  rouge1: { base: 0.221, "lora-r8": 0.224, "lora-r32": 0.135 },
  rouge2: { base: 0.092, "lora-r8": 0.104, "lora-r32": 0.055 },
  rougeL: { base: 0.138, "lora-r8": 0.149, "lora-r32": 0.085 },
};

export function studyValue(metric: MetricKey, armId: string): number | undefined {
  return (STUDY_TABLE[metric] as Record<string, number> | undefined)?.[armId];
}

export function isStudyArm(id: string): boolean {
  return (STUDY_ARMS as readonly string[]).includes(id);
}

export function findArm(report: Report, id: string): Arm | undefined {
  return report.arms.find((a) => a.id === id);
}
