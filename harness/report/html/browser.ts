/**
 * The per-example browser: one collapsible entry per evaluation example under its dataset id, with
 * the article (collapsible), the reference, each arm × seed's prediction, its ROUGE and its
 * continuation flags. Entries start sorted by the r=8 − base ROUGE-2 difference, biggest win first;
 * a few lines of script re-sort them (losses first, or by position in the evaluation subset).
 */
import { fixed, signed } from "../format.ts";
import type { ExampleView } from "./data.ts";
import { esc } from "./escape.ts";

/** Per-example seed-mean ROUGE-2 of r=8 minus base's, or null when either arm has no output. */
export function exampleDiff(ex: ExampleView, a = "lora-r8", b = "base"): number | null {
  const m = (arm: string) => {
    const xs = ex.outputs.filter((o) => o.arm === arm).map((o) => o.rouge.rouge2);
    return xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : null;
  };
  const x = m(a);
  const y = m(b);
  return x === null || y === null ? null : x - y;
}

function outputRows(ex: ExampleView, labels: Map<string, string>): string {
  return ex.outputs
    .map((o) => {
      const flag = o.continued
        ? `<span class="flag" title="continuation bias">continued: ${esc(o.reasons.join(", "))}</span>`
        : "";
      return `<tr><td>${esc(labels.get(o.arm) ?? o.arm)}</td><td>${o.seed}</td><td class="pred">${esc(o.prediction) || "<em>(empty)</em>"}${flag}</td><td>${fixed(o.rouge.rouge1)}</td><td>${fixed(o.rouge.rouge2)}</td><td>${fixed(o.rouge.rougeL)}</td></tr>`;
    })
    .join("\n");
}

export function exampleBrowser(examples: ExampleView[], labels: Map<string, string>): string {
  const rows = examples.map((ex, index) => ({ ex, index, diff: exampleDiff(ex) }));
  // Biggest win first; examples without the difference last, in subset order.
  const key = (d: number | null) => (d === null ? Number.NEGATIVE_INFINITY : d);
  rows.sort((p, q) => key(q.diff) - key(p.diff) || p.index - q.index);
  const entries = rows.map(({ ex, index, diff }) => {
    const flagged = ex.outputs.filter((o) => o.continued).length;
    return `<details class="example" data-id="${esc(ex.id)}" data-index="${index}" data-diff="${diff ?? ""}">
<summary><code>${esc(ex.id)}</code> <span class="diff">${diff === null ? "r=8 − base: —" : `r=8 − base ROUGE-2 ${signed(diff)}`}</span>${flagged ? ` <span class="flag">${flagged} continued</span>` : ""}</summary>
<details class="article"><summary>Article (as the model saw it)</summary><p>${esc(ex.article)}</p></details>
<p class="reference"><strong>Reference</strong> ${esc(ex.reference)}</p>
<table class="outputs"><thead><tr><th>Arm</th><th>Seed</th><th>Prediction</th><th>R-1</th><th>R-2</th><th>R-L</th></tr></thead>
<tbody>
${outputRows(ex, labels)}
</tbody></table>
</details>`;
  });
  return `<p>${examples.length} evaluation examples. Sort by
<button type="button" data-sort="win">r=8 − base, biggest win first</button>
<button type="button" data-sort="loss">biggest loss first</button>
<button type="button" data-sort="index">subset order</button></p>
<div id="examples-list">
${entries.join("\n")}
</div>`;
}

/** Re-sorts the entries; examples without a difference always go last. */
export const BROWSER_SCRIPT = `
(function () {
  var list = document.getElementById("examples-list");
  if (!list) return;
  function diff(el, dir) {
    var d = el.getAttribute("data-diff");
    return d === "" ? -Infinity : dir * Number(d);
  }
  function sortBy(mode) {
    var items = Array.prototype.slice.call(list.children);
    items.sort(function (a, b) {
      var ia = Number(a.getAttribute("data-index")), ib = Number(b.getAttribute("data-index"));
      if (mode === "index") return ia - ib;
      var dir = mode === "win" ? 1 : -1;
      return diff(b, dir) - diff(a, dir) || ia - ib;
    });
    items.forEach(function (el) { list.appendChild(el); });
    list.setAttribute("data-sorted", mode);
  }
  document.querySelectorAll("button[data-sort]").forEach(function (b) {
    b.addEventListener("click", function () { sortBy(b.getAttribute("data-sort")); });
  });
})();
`;
