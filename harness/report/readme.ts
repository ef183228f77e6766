/**
 * The README's results section, regenerated between two markers. Rendering is a pure function of
 * the report (the only date shown is the report's own created_at, to the day), so regenerating
 * from an unchanged report leaves the README byte-identical, and then the file is not rewritten.
 */
import { readFileSync } from "node:fs";
import { dirname, relative, sep } from "node:path";
import { markdownTable } from "markdown-table";
import { fsError, UserError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { cell, ci, fixed, percent, pValue, signed, width } from "./format.ts";
import { isStudyArm, METRIC_LABEL, METRICS, STUDY_ARMS, studyValue } from "./study.ts";
import type { Arm, Claim, Report } from "./types.ts";

export const [START_MARKER, END_MARKER] = markers("results");

export const VERDICT_SYMBOL: Record<Claim["verdict"], string> = {
  holds: "✅",
  fails: "❌",
  inconclusive: "❔",
};

export function chartFileName(profile: string): string {
  return `rouge-${profile}.svg`;
}

/** Wall time as a reader says it: "48 s", "2 min 17 s", "3 h 05 min". */
export function duration(s: number): string {
  const t = Math.round(s);
  if (t < 60) return `${t} s`;
  if (t < 3600) return `${Math.floor(t / 60)} min ${t % 60} s`;
  return `${Math.floor(t / 3600)} h ${String(Math.floor((t % 3600) / 60)).padStart(2, "0")} min`;
}

function provenanceLine(report: Report): string {
  const { git, device, dataset, model, host } = report.provenance;
  const runs = report.arms.reduce((n, a) => n + a.seeds.length, 0);
  const commit = git.commit
    ? `commit \`${git.commit.slice(0, 7)}\`${git.dirty ? " (dirty)" : ""}`
    : "no git commit";
  const seeds = Math.max(0, ...report.arms.map((a) => a.seeds.length));
  const failed = report.arms.reduce((n, a) => n + a.seeds.filter((s) => s.status === "failed").length, 0);
  return [
    commit,
    `device \`${device}\``,
    `run ${report.created_at.slice(0, 10)}`,
    `${seeds} seed${seeds === 1 ? "" : "s"}${failed ? ` (${failed} failed run${failed === 1 ? "" : "s"})` : ""}`,
    `N = ${dataset.train.n} train / ${dataset.eval.n} eval`,
    `model \`${model.id}\``,
    `${runs} (arm, seed) run${runs === 1 ? "" : "s"} in ${duration(report.timings.total_s)} on a ${host.cores}-core ${host.cpu}`,
  ].join(" · ");
}

function reproduced(arm: Arm, metric: (typeof METRICS)[number]): string {
  if (!arm.metrics) return "failed (no successful seed)";
  const m = arm.metrics[metric];
  return `${fixed(m.mean)} ${ci(m.low, m.high)}`;
}

function studyTable(arms: Arm[]): string {
  const header = [
    "Metric",
    ...arms.flatMap((a) => [`${cell(a.label)}: study`, `${cell(a.label)}: reproduced`]),
  ];
  const rows = METRICS.map((metric) => [
    METRIC_LABEL[metric],
    ...arms.flatMap((a) => {
      const s = studyValue(metric, a.id);
      return [s === undefined ? "—" : fixed(s), reproduced(a, metric)];
    }),
  ]);
  return markdownTable([header, ...rows], { align: ["l", ...arms.flatMap(() => ["r", "r"])] });
}

function extraTable(arms: Arm[]): string {
  const header = ["Arm", "Train N", "Trainable params", ...METRICS.map((m) => METRIC_LABEL[m])];
  const rows = arms.map((a) => [
    `${cell(a.label)} (\`${a.id}\`)`,
    String(a.train_n),
    thousands(a.trainable_params),
    ...METRICS.map((m) => reproduced(a, m)),
  ]);
  return markdownTable([header, ...rows], { align: ["l", "r", "r", "r", "r", "r", "r"] });
}

function thousands(x: number): string {
  return String(x).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** Values measured by "value" claims (e.g. a parameter fraction) can be far below 0.001. */
function value(x: number, kind: Claim["kind"]): string {
  return kind === "value" && x !== 0 && Math.abs(x) < 0.01 ? x.toPrecision(3) : signed(x);
}

export function effectText(claim: Claim): string {
  const e = claim.evidence;
  if (e.effect === null) return "—";
  const parts = [value(e.effect, claim.kind)];
  if (e.ci)
    parts.push(
      claim.kind === "value"
        ? `[${value(e.ci[0], "value")}, ${value(e.ci[1], "value")}]`
        : ci(e.ci[0], e.ci[1], 3, true),
    );
  if (e.relative !== null) parts.push(`(${percent(e.relative)})`);
  return parts.join(" ");
}

function claimsTable(claims: Claim[]): string {
  const header = ["Claim", "Verdict", "Effect [95% CI]", "p", "Evidence"];
  const rows = claims.map((c) => [
    cell(c.name),
    `${VERDICT_SYMBOL[c.verdict]} ${c.verdict}`,
    effectText(c),
    pValue(c.evidence.p_value),
    cell(c.evidence.detail),
  ]);
  return markdownTable([header, ...rows], { align: ["l", "l", "r", "r", "l"], stringLength: width });
}

/**
 * The markdown between the markers. `chartLink` is the chart's path relative to the README
 * (null: no chart, e.g. in a CI job summary where repository paths do not resolve).
 */
export function renderResults(
  report: Report,
  chartLink: string | null = `reports/${chartFileName(report.profile)}`,
): string {
  const main = STUDY_ARMS.flatMap((id) => report.arms.filter((a) => a.id === id));
  const extra = report.arms.filter((a) => !isStudyArm(a.id));
  const out = [`### Reproduced results — profile \`${report.profile}\``, "", provenanceLine(report), ""];
  if (main.length > 0) {
    out.push(studyTable(main), "");
    out.push(
      "*Reproduced*: mean over evaluation examples pooled across seeds [95% bootstrap CI]. " +
        "*Study*: the published single run (TinyLlama-1.1B-Chat, N = 100); ROUGE-Lsum was not published.",
      "",
    );
  }
  if (extra.length > 0) out.push("#### Other arms", "", extraTable(extra), "");
  if (report.claims.length > 0) {
    out.push("#### Claims", "", claimsTable(report.claims), "");
    out.push("✅ holds · ❌ fails · ❔ inconclusive — paired bootstrap over examples × seeds.", "");
  }
  if (chartLink !== null) out.push(`![ROUGE by arm, profile ${report.profile}](${chartLink})`);
  return out.join("\n").trimEnd();
}

/** The markers around a generated section of the README (`results`, `perf`). */
export function markers(name: string): [string, string] {
  return [`<!-- lora-bench:${name}:start -->`, `<!-- lora-bench:${name}:end -->`];
}

/** Replace a marked section of `text`; throws (naming `file`) unless each marker occurs exactly once, in order. */
export function replaceSection(text: string, name: string, content: string, file: string): string {
  const [startMarker, endMarker] = markers(name);
  const count = (m: string) => text.split(m).length - 1;
  for (const m of [startMarker, endMarker]) {
    const n = count(m);
    if (n !== 1) throw new UserError(`${n === 0 ? "missing" : `duplicated (${n}×)`} marker ${m}`, file);
  }
  const start = text.indexOf(startMarker) + startMarker.length;
  const end = text.indexOf(endMarker);
  if (end < start) throw new UserError(`marker ${endMarker} comes before ${startMarker}`, file);
  return `${text.slice(0, start)}\n${content}\n${text.slice(end)}`;
}

/** The marked section's content, or null when the markers are absent. */
export function readSection(text: string, name: string): string | null {
  const [startMarker, endMarker] = markers(name);
  const a = text.indexOf(startMarker);
  const b = text.indexOf(endMarker);
  return a < 0 || b < a ? null : text.slice(a + startMarker.length, b).replace(/^\n|\n$/g, "");
}

export function replaceResults(text: string, results: string, file: string): string {
  return replaceSection(text, "results", results, file);
}

/**
 * Regenerate the README's results section. Returns whether the file changed; an unchanged
 * section leaves the file untouched (not even rewritten).
 */
export function updateReadme(readmePath: string, report: Report, chartPath: string): boolean {
  let text: string;
  try {
    text = readFileSync(readmePath, "utf8");
  } catch (err) {
    throw fsError(err, readmePath);
  }
  const link = relative(dirname(readmePath), chartPath).split(sep).join("/");
  const next = replaceResults(text, renderResults(report, link), readmePath);
  if (next === text) return false;
  writeFileAtomic(readmePath, next);
  return true;
}
