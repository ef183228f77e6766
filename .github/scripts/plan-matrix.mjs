#!/usr/bin/env node
/**
 * `lora-bench plan --json` (stdin) → the nightly's matrix. Writes `arms` (a JSON array of arm ids,
 * most expensive first: with fewer runners than arms, the longest jobs should start first) and
 * `count` to $GITHUB_OUTPUT, and the plan as a table to the job summary. Plain Node, no dependencies,
 * so it runs before anything is built. Outside Actions it prints the array and nothing else.
 */
import { appendFileSync, readFileSync } from "node:fs";

function fail(message) {
  process.stderr.write(`plan-matrix: ${message}\n`);
  process.exit(2);
}

const text = readFileSync(0, "utf8");
let plan;
try {
  plan = JSON.parse(text);
} catch {
  fail(`stdin is not the JSON of \`lora-bench plan --json\` (starts ${JSON.stringify(text.slice(0, 60))})`);
}
if (!Array.isArray(plan?.arms) || plan.arms.length === 0)
  fail("the plan has no arms; a matrix over nothing would fail the workflow less clearly");
// Arm ids become artifact names and directory names.
const bad = plan.arms.find((a) => typeof a?.id !== "string" || !/^[A-Za-z0-9._-]+$/.test(a.id));
if (bad) fail(`arm id ${JSON.stringify(bad?.id)} is not usable as an artifact name`);

const arms = plan.arms
  .map((a, i) => ({ ...a, i }))
  .sort((a, b) => (b.expected_cost ?? 0) - (a.expected_cost ?? 0) || a.i - b.i);
const ids = JSON.stringify(arms.map((a) => a.id));

if (process.env.GITHUB_OUTPUT)
  appendFileSync(process.env.GITHUB_OUTPUT, `arms=${ids}\ncount=${arms.length}\n`);
if (process.env.GITHUB_STEP_SUMMARY) {
  const rows = arms.map((a) => {
    const cached = (a.units ?? []).filter((u) => u.cached).length;
    return `| \`${a.id}\` | ${a.label ?? ""} | ${(a.seeds ?? []).join(", ")} | ${a.expected_cost ?? "?"} | \`${a.config_hash ?? ""}\` | ${cached}/${(a.units ?? []).length} |`;
  });
  appendFileSync(
    process.env.GITHUB_STEP_SUMMARY,
    [
      `### Plan: profile \`${plan.profile}\`, ${arms.length} arm job(s)`,
      "",
      `engine \`${plan.engine}\` · model sha256 \`${String(plan.model_sha256).slice(0, 12)}\``,
      "",
      "| arm | label | seeds | expected cost (tokens) | config hash | cached |",
      "|---|---|---|---|---|---|",
      ...rows,
      "",
    ].join("\n"),
  );
}
process.stdout.write(`${ids}\n`);
