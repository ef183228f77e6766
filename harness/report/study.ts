/** What every report view shares: the metric keys and their labels; the published table's lookups. */
import { ROUGE_TYPES } from "../metrics/rouge.ts";
import type { Arm, ArmMetrics, Report } from "./types.ts";

export { isStudyArm, publishedValue as studyValue, STUDY_ARMS } from "../study/published.ts";

export type MetricKey = keyof ArmMetrics;
export const METRICS: readonly MetricKey[] = ROUGE_TYPES;
export const METRIC_LABEL: Record<MetricKey, string> = {
  rouge1: "ROUGE-1",
  rouge2: "ROUGE-2",
  rougeL: "ROUGE-L",
  rougeLsum: "ROUGE-Lsum",
};

export function findArm(report: Report, id: string): Arm | undefined {
  return report.arms.find((a) => a.id === id);
}
