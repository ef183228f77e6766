/**
 * The self-contained HTML report of one profile: one file with inline CSS, SVG and a few lines of
 * script, and a Content-Security-Policy that forbids every network request. A pure function of the
 * JSON report and the cached runs it names (the only date is the report's), so regenerating it from
 * unchanged inputs gives the same bytes.
 */
import { armLabels, forestSpec, lossSpec, rougeSpec, sweepSpec } from "../charts.ts";
import { ci, fixed, pValue, signed } from "../format.ts";
import { METRIC_LABEL, METRICS, studyValue } from "../study.ts";
import type { Claim, Report } from "../types.ts";
import { renderVegaLite } from "../vega.ts";
import { BROWSER_SCRIPT, exampleBrowser } from "./browser.ts";
import type { HtmlData } from "./data.ts";
import { esc } from "./escape.ts";

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#1d1d1d;margin:0 auto;max-width:1180px;padding:0 20px 60px}
h1{font-size:24px;margin:24px 0 4px}h2{font-size:19px;margin:34px 0 8px;border-bottom:1px solid #ddd;padding-bottom:4px}
nav a{margin-right:14px}.muted{color:#666}table{border-collapse:collapse;margin:8px 0}
th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f5f5f5}td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.holds{color:#00795a;font-weight:600}.fails{color:#b84400;font-weight:600}.inconclusive{color:#666;font-weight:600}
.note{font-size:12.5px;color:#444;max-width:460px}.power{color:#7a4100;margin-top:4px}.chart{overflow-x:auto;margin:8px 0}
details.example{border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:4px 8px}
details.example>summary{cursor:pointer}details.article p{white-space:pre-wrap;background:#fafafa;padding:6px}
.flag{display:inline-block;background:#fde8d7;color:#8a3300;border-radius:3px;padding:0 5px;margin-left:6px;font-size:12px}
td.pred{max-width:620px;white-space:pre-wrap}button{margin:0 4px;cursor:pointer}code{font-size:12.5px}
`;

const CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:";

function studyCell(c: Claim): string {
  // By metric then arm; reports from before claims carried every metric hold one metric by arm.
  const values = c.study?.values ?? {};
  const parts = Object.entries(values).flatMap(([key, v]) =>
    typeof v === "number"
      ? [`${esc(key)} ${fixed(v)}`]
      : Object.entries(v).map(([arm, x]) => `${esc(arm)} ${esc(key)} ${fixed(x)}`),
  );
  const reported = c.evidence.mde_study?.reported_effect;
  if (reported !== null && reported !== undefined) parts.push(`<strong>Δ ${signed(reported)}</strong>`);
  return parts.join("<br>") || "—";
}

function powerCell(c: Claim): string {
  const e = c.evidence;
  if (!e.mde || !e.mde_study) return "—";
  return `ours ${fixed(e.mde.effect)} (${e.mde.n_examples}×${e.mde.n_seeds})<br>study ${fixed(e.mde_study.effect)} (${e.mde_study.n_examples}×${e.mde_study.n_seeds})`;
}

function claimsTable(report: Report): string {
  const rows = report.claims.map((c) => {
    const e = c.evidence;
    const effect =
      e.effect === null
        ? "—"
        : `${c.kind === "value" ? fixed(e.effect, 4) : signed(e.effect, 4)}${e.ci ? ` ${ci(e.ci[0], e.ci[1], 4, c.kind !== "value")}` : ""}`;
    const note = `${esc(e.detail)}${e.mde_study ? `<div class="power">${esc(e.mde_study.note)}</div>` : ""}`;
    return `<tr data-claim="${esc(c.id)}"><td class="${c.verdict}">${c.verdict}</td><td>${esc(c.name)}<div class="muted">${esc(c.metric ?? "")} · ${esc(c.arms.join(" vs "))}</div></td><td class="num">${effect}</td><td class="num">${pValue(e.p_value)}</td><td class="num">${studyCell(c)}</td><td class="num">${powerCell(c)}</td><td class="note">${note}</td></tr>`;
  });
  return `<table id="claims-table"><thead><tr><th>Verdict</th><th>Claim</th><th>Ours: effect [95% CI]</th><th>p</th><th>Study (published)</th><th>Min. detectable effect (80% power)</th><th>Detail</th></tr></thead>
<tbody>
${rows.join("\n")}
</tbody></table>`;
}

function rougeTable(report: Report, labels: Map<string, string>): string {
  const head = METRICS.map((m) => `<th>${METRIC_LABEL[m]}</th>`).join("");
  const rows = report.arms.map((a) => {
    const cells = METRICS.map((m) => {
      if (!a.metrics) return `<td class="num">failed</td>`;
      const s = a.metrics[m];
      const st = studyValue(m, a.id);
      return `<td class="num">${fixed(s.mean)} ${ci(s.low, s.high)}${st === undefined ? "" : `<div class="muted">study ${fixed(st)}</div>`}</td>`;
    }).join("");
    return `<tr><td>${esc(labels.get(a.id) ?? a.id)} <code>${esc(a.id)}</code></td><td class="num">${a.train_n}</td>${cells}</tr>`;
  });
  return `<table><thead><tr><th>Arm</th><th>Train N</th>${head}</tr></thead><tbody>
${rows.join("\n")}
</tbody></table>`;
}

function provenance(report: Report): string {
  const p = report.provenance;
  const seeds = [...new Set(report.arms.flatMap((a) => a.seeds.map((s) => s.seed)))].sort((x, y) => x - y);
  const kv: [string, string][] = [
    ["commit", p.git.commit ? `${p.git.commit}${p.git.dirty ? " (dirty)" : ""}` : "none"],
    ["model", `${p.model.id}${p.model.revision ? ` @ ${p.model.revision}` : ""} · sha256 ${p.model.sha256}`],
    ["dataset", `${p.dataset.id}${p.dataset.revision ? ` @ ${p.dataset.revision}` : ""}`],
    ["train subset", `${p.dataset.train.split}, N=${p.dataset.train.n} · sha256 ${p.dataset.train.sha256}`],
    ["eval subset", `${p.dataset.eval.split}, N=${p.dataset.eval.n} · sha256 ${p.dataset.eval.sha256}`],
    ["engine", p.versions.engine],
    ["onnxruntime", p.versions.onnxruntime],
    ["node", p.versions.node],
    ["device", `${p.device}${p.host.gpu ? ` (${p.host.gpu})` : ""}`],
    [
      "host",
      `${p.host.os} · ${p.host.cpu} × ${p.host.cores} · ${(p.host.memory_bytes / 2 ** 30).toFixed(1)} GiB`,
    ],
    ["seeds", seeds.join(", ")],
    ["report", `${report.created_at} · total ${report.timings.total_s.toFixed(1)} s`],
  ];
  const units = report.arms.flatMap((a) =>
    a.seeds.map(
      (s) =>
        `<tr><td><code>${esc(a.id)}</code></td><td>${s.seed}</td><td>${s.status}</td><td class="num">${s.train ? s.train.seconds.toFixed(1) : "—"}</td><td class="num">${s.eval_seconds.toFixed(1)}</td><td><code>${esc(s.cache_key)}</code></td></tr>`,
    ),
  );
  return `<table id="provenance">${kv.map(([k, v]) => `<tr><th>${k}</th><td>${esc(v)}</td></tr>`).join("")}</table>
<h3>Wall time per unit</h3>
<table><thead><tr><th>Arm</th><th>Seed</th><th>Status</th><th>Train s</th><th>Eval s</th><th>Cache key</th></tr></thead><tbody>
${units.join("\n")}
</tbody></table>`;
}

async function chart(spec: Parameters<typeof renderVegaLite>[0] | null, id: string, none: string) {
  return spec
    ? `<div class="chart" id="chart-${id}">${await renderVegaLite(spec, id)}</div>`
    : `<p class="muted">${none}</p>`;
}

export async function renderHtml(data: HtmlData): Promise<string> {
  const { report } = data;
  const labels = armLabels(report.arms);
  const count = (v: Claim["verdict"]) => report.claims.filter((c) => c.verdict === v).length;
  const curves = data.curves.flatMap((c) =>
    c.points.map((p) => ({ arm: labels.get(c.arm) ?? c.arm, seed: c.seed, step: p.step, loss: p.loss })),
  );
  const sweep = sweepSpec(report);
  const sections = [
    `<h2 id="claims">Claims</h2>
<p>${count("holds")} hold, ${count("fails")} fail, ${count("inconclusive")} inconclusive. Effects are paired differences over evaluation examples (seeds averaged within each example) with 95% bootstrap CIs and sign-flip permutation p-values. The minimum detectable effect uses our per-example differences and seed-to-seed variance, for our design (examples × seeds) and for the study's (100 examples, one run).</p>
${claimsTable(report)}`,
    `<h2 id="forest">Forest plot</h2>\n${await chart(forestSpec(report), "forest", "No comparison with a confidence interval.")}`,
    `<h2 id="rouge">ROUGE by arm</h2>\n${await chart(rougeSpec(report), "rouge", "No arm has a successful run.")}\n${rougeTable(report, labels)}`,
    `<h2 id="loss">Training loss</h2>\n${await chart(lossSpec(curves, [...labels.values()]), "loss", "No training curves in the cache.")}`,
    sweep ? `<h2 id="sweep">N sweep</h2>\n${await chart(sweep, "sweep", "")}` : "",
    `<h2 id="examples">Examples</h2>\n${exampleBrowser(data.examples, labels)}`,
    `<h2 id="provenance-h">Provenance</h2>\n${provenance(report)}`,
  ].filter(Boolean);
  const nav = [
    ["claims", "Claims"],
    ["forest", "Forest plot"],
    ["rouge", "ROUGE"],
    ["loss", "Loss"],
    ...(sweep ? [["sweep", "N sweep"]] : []),
    ["examples", "Examples"],
    ["provenance-h", "Provenance"],
  ]
    .map(([id, t]) => `<a href="#${id}">${t}</a>`)
    .join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lora-bench report: ${esc(report.profile)}</title>
<style>${CSS}</style>
</head>
<body>
<h1>lora-bench report — profile ${esc(report.profile)}</h1>
<p class="muted">${esc(report.provenance.model.id)} · ${esc(report.provenance.dataset.id)} · device ${esc(report.provenance.device)} · ${esc(report.created_at)}</p>
<nav>${nav}</nav>
${sections.join("\n")}
<script>${BROWSER_SCRIPT}</script>
</body>
</html>
`;
}
