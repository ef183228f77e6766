/** Markdown rendering of a DiffResult, shared by `lora-bench diff` and the CI job summary. */
import { markdownTable } from "markdown-table";
import type { DiffResult } from "./diff.ts";
import { cell, ci, fixed, signed, width } from "./format.ts";
import { METRIC_LABEL } from "./study.ts";

const CHANGE_MARK: Record<string, string> = {
  regression: "❌ regression",
  weakened: "⚠️ weakened",
  improved: "✅ improved",
  added: "added",
  removed: "removed",
  same: "",
};

export function renderDiff(d: DiffResult, labels: [string, string] = ["A", "B"]): string {
  const [la, lb] = labels.map(cell);
  const out: string[] = [];
  if (d.metrics.length > 0) {
    const rows = d.metrics.map((m) => [
      m.arm,
      METRIC_LABEL[m.metric],
      fixed(m.a),
      fixed(m.b),
      signed(m.delta),
      ci(m.a_ci[0], m.a_ci[1]),
      m.outside === "above" ? "▲ above CI" : m.outside === "below" ? "▼ below CI" : "",
    ]);
    out.push(
      markdownTable([["Arm", "Metric", la, lb, "Δ", `${la} 95% CI`, ""], ...rows], {
        align: ["l", "l", "r", "r", "r", "r", "l"],
      }),
      "",
    );
  }
  if (d.claims.length > 0) {
    const rows = d.claims.map((c) => [cell(c.name), c.a ?? "—", c.b ?? "—", CHANGE_MARK[c.change]]);
    out.push(
      markdownTable([["Claim", la, lb, "Change"], ...rows], {
        align: ["l", "l", "l", "l"],
        stringLength: width,
      }),
      "",
    );
  }
  if (d.arms.added.length > 0) out.push(`Arms only in ${lb}: ${d.arms.added.join(", ")}`);
  if (d.arms.removed.length > 0) out.push(`Arms only in ${la}: ${d.arms.removed.join(", ")}`);
  out.push(d.regression ? `Regression:\n${d.reasons.map((r) => `- ${r}`).join("\n")}` : "No regression.");
  return `${out.join("\n")}\n`;
}
