/**
 * GitHub Actions job summary, outputs and annotations for a report (and optionally its diff
 * against a baseline), through @actions/core. Outside Actions (no GITHUB_STEP_SUMMARY /
 * GITHUB_OUTPUT) nothing is written there; the markdown is returned for the caller to print.
 */
import * as core from "@actions/core";
import type { DiffResult } from "./diff.ts";
import { renderDiff } from "./diff-render.ts";
import { renderResults } from "./readme.ts";
import type { Report } from "./types.ts";

export interface SummaryOutputs {
  holds: number;
  fails: number;
  inconclusive: number;
  regression: boolean;
}

export function summaryMarkdown(report: Report, diff?: DiffResult, diffLabels?: [string, string]): string {
  const parts = [renderResults(report, null), ""];
  if (diff)
    parts.push(`### Compared with ${diffLabels?.[0] ?? "the baseline"}`, "", renderDiff(diff, diffLabels));
  return `${parts.join("\n").trimEnd()}\n`;
}

export async function writeJobSummary(
  report: Report,
  diff?: DiffResult,
  diffLabels?: [string, string],
): Promise<{ markdown: string; outputs: SummaryOutputs }> {
  const count = (v: string) => report.claims.filter((c) => c.verdict === v).length;
  const outputs: SummaryOutputs = {
    holds: count("holds"),
    fails: count("fails"),
    inconclusive: count("inconclusive"),
    regression: diff?.regression ?? false,
  };
  const markdown = summaryMarkdown(report, diff, diffLabels);

  // Annotations go to stdout as workflow commands; harmless (and readable) outside Actions.
  for (const c of report.claims) {
    const props = { title: `lora-bench claim ${c.verdict}`, file: c.spec };
    if (c.verdict === "fails") core.error(`${c.name}: fails (${c.evidence.detail})`, props);
    if (c.verdict === "inconclusive") core.warning(`${c.name}: inconclusive (${c.evidence.detail})`, props);
  }
  for (const arm of report.arms)
    for (const s of arm.seeds)
      if (s.status === "failed")
        core.warning(`${arm.id} seed ${s.seed} failed: ${s.error?.reason ?? "unknown reason"}`);
  for (const reason of diff?.reasons ?? []) core.error(reason, { title: "lora-bench regression" });

  if (process.env.GITHUB_STEP_SUMMARY) await core.summary.addRaw(markdown, true).write();
  if (process.env.GITHUB_OUTPUT) {
    core.setOutput("profile", report.profile);
    core.setOutput("holds", outputs.holds);
    core.setOutput("fails", outputs.fails);
    core.setOutput("inconclusive", outputs.inconclusive);
    core.setOutput("regression", outputs.regression);
  }
  return { markdown, outputs };
}
