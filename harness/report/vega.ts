/**
 * Vega-Lite specs rendered to static SVG in Node: compile with vega-lite, run the dataflow with
 * vega's headless renderer ("none") and serialise the scenegraph. No canvas and no browser are
 * needed; text widths are vega's estimates, so the bytes are the same on every machine. Data is
 * always inline: the loader refuses every URL, so a chart can never fetch anything.
 */
import * as vega from "vega";
import { compile, type TopLevelSpec } from "vega-lite";

export const FONT = "system-ui, -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif";
// Colour-blind-friendly (Okabe–Ito), then greys for long N sweeps.
export const PALETTE = [
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

const CONFIG = {
  font: FONT,
  background: "#ffffff",
  range: { category: PALETTE },
  title: { anchor: "start", fontSize: 15, subtitleColor: "#555", subtitleFontSize: 12 },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: "#e6e6e6" },
  legend: { labelFontSize: 11, titleFontSize: 12, labelLimit: 320 },
  view: { stroke: null },
} as const;

const offline = vega.loader();
offline.load = async (uri: string) => {
  throw new Error(`charts are self-contained; refusing to load ${uri}`);
};

/** Vega numbers its clip paths and gradients from a process-wide counter; renumber per chart. */
function stableIds(svg: string, prefix: string): string {
  const ids = new Map<string, string>();
  for (const m of svg.matchAll(/\bid="([^"]+)"/g)) if (!ids.has(m[1])) ids.set(m[1], `${prefix}-${ids.size}`);
  return svg.replace(/(id="|url\(#|href="#)([^")]+)/g, (all, head: string, id: string) =>
    ids.has(id) ? `${head}${ids.get(id)}` : all,
  );
}

/** Render a Vega-Lite spec (data inline) to an SVG string; `id` keeps element ids unique on a page. */
export async function renderVegaLite(spec: TopLevelSpec, id: string): Promise<string> {
  const withConfig = { ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const view = new vega.View(vega.parse(compile(withConfig).spec), { renderer: "none", loader: offline });
  try {
    const svg = await view.toSVG();
    return `${stableIds(svg, id)}\n`;
  } finally {
    view.finalize();
  }
}
