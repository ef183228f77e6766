/**
 * After the arms: claims, report, chart, README, terminal summary. A run that computed nothing new
 * and whose results equal the latest report's writes no file at all.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { markdownTable } from "markdown-table";
import { progressLine } from "../engine/commands/progress.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { type ArmsRun, runClaims } from "../study/runner.ts";
import { buildReport } from "./build.ts";
import { renderChart } from "./chart.ts";
import { chartFileName, updateReadme, VERDICT_SYMBOL } from "./readme.ts";
import type { Report } from "./types.ts";
import { stripVolatile } from "./volatile.ts";
import { latestPath, readReport, writeReport } from "./write.ts";

function sameResults(a: Report, b: Report): boolean {
  const strip = (r: Report) => {
    const s = stripVolatile(r);
    return JSON.stringify({ ...s, provenance: { ...s.provenance, git: null } });
  };
  return strip(a) === strip(b);
}

export interface FinishOptions {
  t0: number;
  filter?: string;
  json?: boolean;
  strict?: boolean;
  verbose?: boolean;
}

export async function finishStudy(run: ArmsRun, o: FinishOptions): Promise<number> {
  const claims = await runClaims(run.study, { filter: o.filter, verbose: o.verbose });
  const reportsDir = resolve(run.config.reportsDir);
  const latest = latestPath(reportsDir, run.ctx.profile.name);
  const prev = existsSync(latest) ? readReport(latest) : null;
  let report = buildReport(run, claims, (performance.now() - o.t0) / 1000, new Date().toISOString());
  const unchanged = run.ran === 0 && prev !== null && sameResults(prev, report);
  if (unchanged) {
    report = prev;
  } else {
    writeReport(reportsDir, report);
    const chart = join(reportsDir, chartFileName(report.profile));
    writeFileAtomic(chart, renderChart(report));
    updateReadme(resolve(run.config.readme), report, `reports/${chartFileName(report.profile)}`);
  }
  if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${summaryText(report, unchanged)}\n`);
  const elapsed = (performance.now() - o.t0) / 1000;
  progressLine.done(
    `${run.ran} unit(s) computed, ${run.units.length - run.ran} from cache; ${unchanged ? "results unchanged, no file written" : `report → ${latest}`} (${elapsed.toFixed(1)} s)`,
  );
  return o.strict && report.claims.some((c) => c.verdict === "fails") ? 1 : 0;
}

export function summaryText(report: Report, unchanged = false): string {
  const f = (x: number) => x.toFixed(3);
  const arms = report.arms;
  const metricRows = (["rouge1", "rouge2", "rougeL", "rougeLsum"] as const).map((m) => [
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
