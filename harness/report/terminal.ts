/** The report as the terminal shows it after a run: metrics per arm, then each claim's verdict. */
import { markdownTable } from "markdown-table";
import { ROUGE_TYPES } from "../metrics/rouge.ts";
import { VERDICT_SYMBOL } from "./readme.ts";
import type { Report } from "./types.ts";

export function terminalTables(report: Report, unchanged = false): string {
  const f = (x: number) => x.toFixed(3);
  const arms = report.arms;
  const metricRows = ROUGE_TYPES.map((m) => [
    m,
    ...arms.map((a) =>
      a.metrics ? `${f(a.metrics[m].mean)} [${f(a.metrics[m].low)}, ${f(a.metrics[m].high)}]` : "failed",
    ),
  ]);
  const claimRows = report.claims.map((c) => [
    `${VERDICT_SYMBOL[c.verdict]} ${c.verdict}`,
    c.name,
    c.evidence.effect === null
      ? ""
      : c.evidence.ci
        ? `${c.evidence.effect.toFixed(4)} [${c.evidence.ci[0].toFixed(4)}, ${c.evidence.ci[1].toFixed(4)}]`
        : c.evidence.effect.toPrecision(4),
  ]);
  const lines = [
    `profile ${report.profile} · ${report.provenance.device} · eval N=${report.provenance.dataset.eval.n}${unchanged ? " · (cached)" : ""}`,
    "",
    markdownTable([["metric", ...arms.map((a) => a.id)], ...metricRows]),
    "",
    claimRows.length
      ? markdownTable([["verdict", "claim", "effect [95% CI]"], ...claimRows])
      : "(no claims ran)",
  ];
  return lines.join("\n");
}
