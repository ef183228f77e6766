/**
 * ROUGE-1/2/L by arm as grouped bars (one group per metric, one colour per arm) with 95% CI
 * whiskers and the study's published values as diamonds. Hand-written SVG: no dependency, and
 * every coordinate is printed with fixed decimals so the same report gives the same bytes.
 */

import { PUBLISHED_METRICS } from "../study/published.ts";
import { fixed } from "./format.ts";
import { METRIC_LABEL, type MetricKey, studyValue } from "./study.ts";
import type { Report } from "./types.ts";

// The metrics the study published, so that every bar has its diamond.
const CHART_METRICS: readonly MetricKey[] = PUBLISHED_METRICS;
// Colour-blind-friendly (Okabe–Ito), then greys for long N sweeps.
const PALETTE = [
  "#0072B2",
  "#E69F00",
  "#009E73",
  "#CC79A7",
  "#56B4E9",
  "#D55E00",
  "#F0E442",
  "#999999",
  "#555555",
];
const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";

const n = (x: number) => fixed(x, 1);

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** The smallest "nice" step giving at most 6 ticks up to max. */
function tickStep(max: number): number {
  for (const step of [0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1]) if (max / step <= 6) return step;
  return Math.ceil(max / 6);
}

export function renderChart(report: Report): string {
  // An arm with no successful seed has no bars to draw (the README and diff say it failed).
  const arms = report.arms.filter(
    (a): a is typeof a & { metrics: NonNullable<typeof a.metrics> } => a.metrics !== null,
  );
  const seeds = Math.max(0, ...arms.map((a) => a.seeds.length));
  const barW = arms.length <= 4 ? 34 : arms.length <= 8 ? 22 : 14;
  const groupW = arms.length * barW + 36;
  const plot = { left: 64, top: 70, width: CHART_METRICS.length * groupW, height: 280 };
  const legendX = plot.left + plot.width + 28;
  const labels = arms.map((a) =>
    arms.filter((b) => b.label === a.label).length > 1 ? `${a.label} (${a.id})` : a.label,
  );
  const legendW = 40 + Math.max(150, ...labels.map((l) => l.length * 7));
  const width = Math.max(legendX + legendW, 780); // room for the subtitle with few arms
  const height = plot.top + plot.height + 50;

  const values = arms.flatMap((a) =>
    CHART_METRICS.flatMap((m) => [a.metrics[m].high, a.metrics[m].mean, studyValue(m, a.id) ?? 0]),
  );
  const step = tickStep(Math.max(0.05, ...values) * 1.05);
  const yMax = Math.ceil((Math.max(0.05, ...values) * 1.05) / step - 1e-9) * step;
  const y = (v: number) => plot.top + plot.height * (1 - Math.max(0, Math.min(v, yMax)) / yMax);

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="${esc(FONT)}" font-size="12">`,
    `<title>ROUGE by arm, profile ${esc(report.profile)}</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plot.left}" y="26" font-size="16" font-weight="bold" fill="#222">ROUGE by arm — profile ${esc(report.profile)}</text>`,
    `<text x="${plot.left}" y="46" fill="#555">Mean over evaluation examples pooled across ${seeds} seed${seeds === 1 ? "" : "s"}; whiskers: 95% bootstrap CI; ◆ the study's published value</text>`,
  ];

  // Grid and y axis.
  for (let i = 0; i * step <= yMax + 1e-9; i++) {
    const v = i * step;
    out.push(
      `<line x1="${plot.left}" y1="${n(y(v))}" x2="${plot.left + plot.width}" y2="${n(y(v))}" stroke="${i === 0 ? "#333" : "#e3e3e3"}"/>`,
      `<text x="${plot.left - 8}" y="${n(y(v) + 4)}" text-anchor="end" fill="#333">${fixed(v, 2)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(18 ${n(plot.top + plot.height / 2)}) rotate(-90)" text-anchor="middle" fill="#333">score (F1)</text>`,
  );

  // Bars, whiskers, study markers.
  CHART_METRICS.forEach((metric, g) => {
    const gx = plot.left + g * groupW + 18;
    out.push(
      `<text x="${n(gx + (arms.length * barW) / 2)}" y="${plot.top + plot.height + 22}" text-anchor="middle" font-weight="bold" fill="#222">${METRIC_LABEL[metric]}</text>`,
    );
    arms.forEach((arm, i) => {
      const m = arm.metrics[metric];
      const x = gx + i * barW;
      const cx = x + barW / 2;
      const colour = PALETTE[i % PALETTE.length];
      out.push(
        `<rect x="${n(x + 2)}" y="${n(y(m.mean))}" width="${n(barW - 4)}" height="${n(y(0) - y(m.mean))}" fill="${colour}"><title>${esc(labels[i])} ${METRIC_LABEL[metric]}: ${fixed(m.mean)} [${fixed(m.low)}, ${fixed(m.high)}]</title></rect>`,
        `<path d="M${n(cx)} ${n(y(m.low))}V${n(y(m.high))}M${n(cx - 5)} ${n(y(m.low))}H${n(cx + 5)}M${n(cx - 5)} ${n(y(m.high))}H${n(cx + 5)}" stroke="#222" stroke-width="1.5" fill="none"/>`,
      );
      const s = studyValue(metric, arm.id);
      if (s !== undefined) {
        const sy = y(s);
        out.push(
          `<path d="M${n(cx)} ${n(sy - 6)}L${n(cx + 6)} ${n(sy)}L${n(cx)} ${n(sy + 6)}L${n(cx - 6)} ${n(sy)}Z" fill="#111" stroke="#fff" stroke-width="1.5"><title>study ${METRIC_LABEL[metric]}: ${fixed(s)}</title></path>`,
        );
      }
    });
  });

  // Legend.
  out.push(`<text x="${legendX}" y="${plot.top}" font-weight="bold" fill="#222">Arm</text>`);
  labels.forEach((label, i) => {
    const ly = plot.top + 18 + i * 20;
    out.push(
      `<rect x="${legendX}" y="${ly - 10}" width="14" height="14" fill="${PALETTE[i % PALETTE.length]}"/>`,
      `<text x="${legendX + 20}" y="${ly + 1}" fill="#222">${esc(label)}</text>`,
    );
  });
  const ly = plot.top + 18 + labels.length * 20 + 8;
  out.push(
    `<path d="M${legendX + 7} ${ly - 9}L${legendX + 13} ${ly - 3}L${legendX + 7} ${ly + 3}L${legendX + 1} ${ly - 3}Z" fill="#111"/>`,
    `<text x="${legendX + 20}" y="${ly + 1}" fill="#222">study (published)</text>`,
    `<path d="M${legendX + 7} ${ly + 12}V${ly + 26}M${legendX + 2} ${ly + 12}H${legendX + 12}M${legendX + 2} ${ly + 26}H${legendX + 12}" stroke="#222" stroke-width="1.5"/>`,
    `<text x="${legendX + 20}" y="${ly + 23}" fill="#222">95% CI</text>`,
    "</svg>",
  );
  return `${out.join("\n")}\n`;
}
