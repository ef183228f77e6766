/**
 * The study pipeline, in order:
 *   1. plan    config + profile → study context (model, tokenizer, subsets) → (arm, seed) units with keys
 *   2. units   train and evaluate every unit the cache lacks (study/runner.ts, study/arm.ts)
 *   3. claims  benchmarks/*.claims.ts judged by vitest against the study snapshot
 *   4. report  reports/<profile>/latest.json (schema'd), the chart and reports/<profile>.html
 *   5. README  the tables between the README's markers
 * `lora-bench run` is steps 1-5, `run --arm` steps 1-2, `merge` gathers caches and then runs 1-5.
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "./fsutil.ts";
import { buildReport } from "./report/build.ts";
import { renderChart } from "./report/charts.ts";
import { collectHtmlData, htmlPath } from "./report/html/data.ts";
import { renderHtml } from "./report/html/page.ts";
import { chartFileName, updateReadme } from "./report/readme.ts";
import { terminalTables } from "./report/terminal.ts";
import type { Report } from "./report/types.ts";
import { stripVolatile } from "./report/volatile.ts";
import { latestPath, readReport, writeIfChanged, writeReport } from "./report/write.ts";
import { runClaims } from "./study/run-claims.ts";
import { planStudy, type RunOptions, runUnits, type StudyRun } from "./study/runner.ts";

export interface FinishOptions {
  t0: number;
  filter?: string;
  json?: boolean;
  strict?: boolean;
  verbose?: boolean;
  /** Where the closing line goes (the CLI's progress line). */
  log?: (msg: string) => void;
}

/** Steps 1-5. Returns the exit code (1 under `strict` when a claim fails). */
export async function runStudy(o: RunOptions & Omit<FinishOptions, "t0">): Promise<number> {
  const t0 = performance.now();
  const plan = await planStudy(o);
  const run = await runUnits(plan, o);
  return finishStudy(run, { ...o, t0 });
}

function sameResults(a: Report, b: Report): boolean {
  const strip = (r: Report) => {
    const s = stripVolatile(r);
    return JSON.stringify({ ...s, provenance: { ...s.provenance, git: null } });
  };
  return strip(a) === strip(b);
}

/**
 * Steps 3-5 after the units. A run that computed nothing new and whose results equal the latest
 * report's writes no file at all.
 */
export async function finishStudy(run: StudyRun, o: FinishOptions): Promise<number> {
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
    writeFileAtomic(chart, await renderChart(report));
    updateReadme(resolve(run.config.readme), report, `reports/${chartFileName(report.profile)}`);
  }
  // Rendered either way: a pure function of the report and the cached runs, so rewritten only when
  // it differs (e.g. the first run after the page's layout changed).
  const html = await renderHtml(collectHtmlData(report, run.ctx, run.units, run.results, run.study));
  writeIfChanged(htmlPath(reportsDir, report.profile), html);
  if (o.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else process.stdout.write(`${terminalTables(report, unchanged)}\n`);
  const elapsed = (performance.now() - o.t0) / 1000;
  (o.log ?? ((m: string) => process.stderr.write(`${m}\n`)))(
    `${run.ran} unit(s) computed, ${run.units.length - run.ran} from cache; ${unchanged ? "results unchanged, no file written" : `report → ${latest}`} (${elapsed.toFixed(1)} s)`,
  );
  return o.strict && report.claims.some((c) => c.verdict === "fails") ? 1 : 0;
}
