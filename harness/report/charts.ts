/**
 * The report's charts as Vega-Lite specs (rendered to SVG by vega.ts): ROUGE by arm (also the
 * README chart), the forest plot of every comparison, training loss per arm × seed, the N sweep.
 * Each builder returns null when the report has nothing to draw.
 */
import type { TopLevelSpec } from "vega-lite";
import { PUBLISHED_METRICS } from "../study/published.ts";
import { METRIC_LABEL, type MetricKey, studyValue } from "./study.ts";
import type { Arm, Report } from "./types.ts";
import { renderVegaLite } from "./vega.ts";

// The metrics the study published, so that every bar has its diamond.
const CHART_METRICS: readonly MetricKey[] = PUBLISHED_METRICS;
const VERDICT_COLOUR = { holds: "#009E73", fails: "#D55E00", inconclusive: "#777777" };

/** Arm labels, with the id added where two arms share a label (an N sweep's LoRA r=8 at N=200). */
export function armLabels(arms: readonly Pick<Arm, "id" | "label">[]): Map<string, string> {
  return new Map(
    arms.map((a) => [
      a.id,
      arms.filter((b) => b.label === a.label).length > 1 ? `${a.label} (${a.id})` : a.label,
    ]),
  );
}

const round = (x: number) => Math.round(x * 1e6) / 1e6;

export function rougeSpec(report: Report): TopLevelSpec | null {
  const arms = report.arms.filter((a) => a.metrics !== null);
  if (!arms.length) return null;
  const labels = armLabels(arms);
  const order = arms.map((a) => labels.get(a.id)!);
  const seeds = Math.max(0, ...arms.map((a) => a.seeds.length));
  const rows = CHART_METRICS.flatMap((m) =>
    arms.map((a) => ({
      metric: METRIC_LABEL[m],
      arm: labels.get(a.id)!,
      mean: round(a.metrics![m].mean),
      low: round(a.metrics![m].low),
      high: round(a.metrics![m].high),
      study: studyValue(m, a.id) ?? null,
    })),
  );
  const x = {
    field: "metric",
    type: "nominal",
    sort: CHART_METRICS.map((m) => METRIC_LABEL[m]),
    title: null,
  };
  const xOffset = { field: "arm", type: "nominal", sort: order };
  return {
    title: {
      text: `ROUGE by arm — profile ${report.profile}`,
      subtitle: `Mean over evaluation examples pooled across ${seeds} seed${seeds === 1 ? "" : "s"}; whiskers: 95% bootstrap CI; ◆ the study's published value`,
    },
    data: { values: rows },
    width: { step: arms.length <= 4 ? 34 : arms.length <= 8 ? 22 : 14 },
    height: 280,
    encoding: { x: { ...x, axis: { labelAngle: 0, labelFontWeight: "bold" } }, xOffset },
    layer: [
      {
        mark: "bar",
        encoding: {
          y: { field: "mean", type: "quantitative", title: "score (F1)" },
          color: { field: "arm", type: "nominal", sort: order, title: "Arm" },
        },
      },
      {
        mark: { type: "rule", color: "#222", strokeWidth: 1.5 },
        encoding: { y: { field: "low", type: "quantitative" }, y2: { field: "high" } },
      },
      {
        transform: [{ filter: "datum.study != null" }],
        mark: { type: "point", shape: "diamond", filled: true, color: "#111", size: 70, opacity: 1 },
        encoding: { y: { field: "study", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
}

/** Every comparison's Δ with its 95% CI, our minimum detectable effect and the study's reported Δ. */
export function forestSpec(report: Report): TopLevelSpec | null {
  const rows = report.claims
    .filter((c) => c.evidence.ci !== null && c.evidence.effect !== null && c.kind !== "value")
    .map((c) => ({
      // A claim over several metrics carries the first metric's numbers.
      claim: `${c.name} (${metricNote(c.metric)})`,
      effect: round(c.evidence.effect!),
      low: round(c.evidence.ci![0]),
      high: round(c.evidence.ci![1]),
      verdict: c.verdict,
      mde: c.evidence.mde ? round(c.evidence.mde.effect) : null,
      reported: c.evidence.mde_study?.reported_effect ?? null,
    }));
  if (!rows.length) return null;
  const order = rows.map((r) => r.claim);
  const y = { field: "claim", type: "nominal", sort: order, title: null, axis: { labelLimit: 420 } };
  return {
    title: {
      text: "Paired differences (first arm − second)",
      subtitle:
        "Point: Δ; line: 95% bootstrap CI; grey ticks: ± our minimum detectable effect (80% power); ◆ the study's reported Δ",
    },
    data: { values: rows },
    width: 420,
    height: { step: 26 },
    layer: [
      {
        data: { values: [{}] }, // one zero line, not one per row
        mark: { type: "rule", color: "#333", strokeDash: [4, 3] },
        encoding: { x: { datum: 0 } },
      },
      {
        transform: [
          { filter: "datum.mde != null" },
          { calculate: "[-datum.mde, datum.mde]", as: "band" },
          { flatten: ["band"] },
        ],
        mark: { type: "tick", color: "#aaaaaa", thickness: 2, size: 14 },
        encoding: { y, x: { field: "band", type: "quantitative" } },
      },
      {
        mark: { type: "rule", strokeWidth: 2 },
        encoding: {
          y,
          x: { field: "low", type: "quantitative", title: "Δ (metric units)" },
          x2: { field: "high" },
          color: { field: "verdict", type: "nominal", scale: colourScale(), title: "Verdict" },
        },
      },
      {
        mark: { type: "point", filled: true, size: 60, opacity: 1 },
        encoding: {
          y,
          x: { field: "effect", type: "quantitative" },
          color: { field: "verdict", type: "nominal" },
        },
      },
      {
        transform: [{ filter: "datum.reported != null" }],
        mark: { type: "point", shape: "diamond", filled: true, color: "#111", size: 60, opacity: 1 },
        encoding: { y, x: { field: "reported", type: "quantitative" } },
      },
    ],
  } as TopLevelSpec;
}

function metricNote(metric: string | null): string {
  const ms = (metric ?? "").split(",");
  return ms.length > 1 ? `${ms[0]}; first of ${ms.length}` : ms[0];
}

function colourScale() {
  const domain = Object.keys(VERDICT_COLOUR);
  return { domain, range: domain.map((k) => VERDICT_COLOUR[k as keyof typeof VERDICT_COLOUR]) };
}

export interface CurvePoint {
  arm: string;
  seed: number;
  step: number;
  loss: number;
}

export function lossSpec(points: CurvePoint[], armOrder: string[] = []): TopLevelSpec | null {
  if (!points.length) return null;
  const arms = [...new Set(points.map((p) => p.arm))];
  const order = [...armOrder.filter((a) => arms.includes(a)), ...arms.filter((a) => !armOrder.includes(a))];
  // One panel per arm: per-step losses of several arms on one set of axes are unreadable.
  return {
    title: {
      text: "Training loss per arm × seed",
      subtitle: "One panel per arm, one line per seed; loss on summary tokens",
    },
    data: { values: points.map((p) => ({ ...p, seed: `seed ${p.seed}`, loss: round(p.loss) })) },
    facet: {
      field: "arm",
      type: "nominal",
      sort: order,
      title: null,
      header: { labelFontSize: 12, labelFontWeight: "bold" },
    },
    columns: 3,
    spec: {
      width: 250,
      height: 150,
      mark: { type: "line", strokeWidth: 1.2 },
      encoding: {
        x: { field: "step", type: "quantitative", title: "optimizer step" },
        y: { field: "loss", type: "quantitative", title: "training loss", scale: { zero: false } },
        color: { field: "seed", type: "nominal", title: "Seed" },
      },
    },
    resolve: { scale: { x: "independent" } },
  } as TopLevelSpec;
}

/** ROUGE-2 of each rank over training-set size, when some rank was trained at two or more N. */
export function sweepSpec(report: Report, metric: MetricKey = "rouge2"): TopLevelSpec | null {
  const lora = report.arms.filter((a) => a.lora && !a.lora.use_rslora && a.metrics);
  const ns = (r: number) => new Set(lora.filter((a) => a.lora!.r === r).map((a) => a.train_n));
  const rows = lora
    .filter((a) => ns(a.lora!.r).size >= 2)
    .map((a) => ({
      rank: `r=${a.lora!.r}`,
      n: a.train_n,
      mean: round(a.metrics![metric].mean),
      low: round(a.metrics![metric].low),
      high: round(a.metrics![metric].high),
    }))
    .sort((p, q) => p.rank.localeCompare(q.rank) || p.n - q.n);
  if (!rows.length) return null;
  const x = { field: "n", type: "quantitative", title: "training examples (N)", scale: { zero: false } };
  const colour = { field: "rank", type: "nominal", title: "LoRA rank" };
  return {
    title: {
      text: `N sweep: ${METRIC_LABEL[metric]} by rank over N`,
      subtitle: "Mean with 95% bootstrap CI",
    },
    data: { values: rows },
    width: 420,
    height: 240,
    encoding: { x, color: colour },
    layer: [
      {
        mark: { type: "line", point: true },
        encoding: { y: { field: "mean", type: "quantitative", title: METRIC_LABEL[metric] } },
      },
      {
        mark: { type: "rule" },
        encoding: {
          y: { field: "low", type: "quantitative", scale: { zero: false } },
          y2: { field: "high" },
        },
      },
    ],
  } as TopLevelSpec;
}

/** The README's chart: ROUGE by arm. */
export async function renderChart(report: Report): Promise<string> {
  const spec = rougeSpec(report);
  if (!spec)
    return renderVegaLite({ data: { values: [] }, mark: "point", title: "No successful arm" }, "rouge");
  return renderVegaLite(spec, "rouge");
}
