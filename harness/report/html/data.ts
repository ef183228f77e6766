/**
 * What the HTML report shows beyond the JSON report: per evaluation example, the article as the
 * model saw it, the reference and every arm × seed's prediction with its ROUGE and continuation
 * flags; per trained unit, its loss curve. Gathered from a finished run (pipeline) or from the arm
 * cache for the report's own cache keys (`lora-bench html`).
 */
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { UserError } from "../../errors.ts";
import { continuationBias } from "../../metrics/continuation.ts";
import { readUnitResult, type UnitResult } from "../../study/cache.ts";
import { getProfile, loadConfig } from "../../study/config.ts";
import type { StudyContext, Unit } from "../../study/plan.ts";
import { planStudy, type RunOptions, studyData } from "../../study/runner.ts";
import type { Metric, StudyData } from "../../study/verdict.ts";
import type { Report } from "../types.ts";
import { latestPath, readReport } from "../write.ts";

export interface ExampleOutput {
  arm: string;
  seed: number;
  prediction: string;
  rouge: Record<Metric, number>;
  continued: boolean;
  reasons: string[];
}

export interface ExampleView {
  id: string;
  article: string;
  reference: string;
  outputs: ExampleOutput[];
}

export interface LossCurve {
  arm: string;
  seed: number;
  points: { step: number; loss: number }[];
}

export interface HtmlData {
  report: Report;
  examples: ExampleView[];
  curves: LossCurve[];
}

const METRICS: Metric[] = ["rouge1", "rouge2", "rougeL", "rougeLsum"];

/** From the study context, the units with their cached results, and the claims' snapshot. */
export function collectHtmlData(
  report: Report,
  ctx: StudyContext,
  units: Unit[],
  results: Map<string, UnitResult>,
  study: StudyData,
): HtmlData {
  const examples: ExampleView[] = ctx.evalSubset.records.map((r, i) => ({
    id: r.id,
    article: ctx.evalSeen[i],
    reference: r.highlights,
    outputs: [],
  }));
  const curves: LossCurve[] = [];
  for (const arm of study.arms)
    for (const run of arm.runs) {
      const unit = units.find((u) => u.arm.id === arm.id && u.seed === run.seed);
      const res = unit && results.get(unit.key);
      if (!res) continue;
      if (res.train?.curve.length)
        curves.push({
          arm: arm.id,
          seed: run.seed,
          points: res.train.curve.map((p) => ({ step: p.step, loss: p.loss })),
        });
      if (run.status !== "ok" || !run.scores) continue;
      const cont = continuationBias(
        res.predictions.map((prediction, i) => ({
          prediction,
          article: ctx.evalSeen[i],
          instruction: ctx.profile.prompt.instruction,
        })),
      );
      examples.forEach((ex, i) => {
        ex.outputs.push({
          arm: arm.id,
          seed: run.seed,
          prediction: res.predictions[i],
          rouge: Object.fromEntries(METRICS.map((m) => [m, run.scores![m][i]])) as Record<Metric, number>,
          continued: cont.examples[i].continued,
          reasons: cont.examples[i].reasons,
        });
      });
    }
  return { report, examples, curves };
}

export function htmlPath(reportsDir: string, profile: string): string {
  return join(reportsDir, `${profile}.html`);
}

/**
 * For `lora-bench html`: the profile's latest report (validated) and the cached results of the
 * units it names. A missing report or no cached unit at all is a one-line error.
 */
export async function loadHtmlData(o: RunOptions): Promise<{ data: HtmlData; out: string }> {
  const { config, file: configFile } = await loadConfig(o.configPath);
  const profile = getProfile(config, o.profile, configFile).name;
  const reportsDir = resolve(config.reportsDir);
  const file = latestPath(reportsDir, profile);
  if (!existsSync(file))
    throw new UserError(
      `no report for profile "${profile}" yet (run \`lora-bench run --profile ${profile}\`)`,
      file,
    );
  const report = readReport(file);
  const seeds = [...new Set(report.arms.flatMap((a) => a.seeds.map((s) => s.seed)))].sort((a, b) => a - b);
  const plan = await planStudy({ ...o, profile, seeds });
  const keys = new Set(report.arms.flatMap((a) => a.seeds.map((s) => s.cache_key)));
  const units = plan.units.filter((u) => keys.has(u.key));
  const results = new Map<string, UnitResult>();
  for (const u of units) {
    const hit = readUnitResult(plan.cacheDir, u.key);
    if (hit) results.set(u.key, hit);
  }
  if (results.size === 0)
    throw new UserError(
      `profile "${profile}" has no runs in the cache for this report (run \`lora-bench run --profile ${profile}\`)`,
      plan.cacheDir,
    );
  return {
    data: collectHtmlData(
      report,
      plan.ctx,
      units,
      results,
      studyData(plan.ctx, units, results, plan.cacheDir, plan.config),
    ),
    out: htmlPath(reportsDir, profile),
  };
}
