/** `lora-bench diff A B [--json] [--profile P]`: exit 1 on a regression (see diff.ts), else 0. */
import { parseFlags } from "../args.ts";
import { UserError } from "../errors.ts";
import { diffReports } from "./diff.ts";
import { renderDiff } from "./diff-render.ts";
import { loadReportArg } from "./resolve.ts";

const USAGE = "usage: lora-bench diff A B [--json] [--profile P]  (A, B: report files or git refs)";

export async function main(
  argv: string[],
  io: { cwd: string; stdout: (s: string) => void },
): Promise<number> {
  const { values, positionals } = parseFlags(
    argv,
    { json: { type: "boolean" }, profile: { type: "string" }, help: { type: "boolean", short: "h" } },
    "diff",
  );
  if (values.help) {
    io.stdout(`${USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 2)
    throw new UserError(`diff: expected two reports, got ${positionals.length}; ${USAGE}`);
  const [argA, argB] = positionals;
  const a = loadReportArg(argA, { cwd: io.cwd, profile: values.profile });
  const b = loadReportArg(argB, { cwd: io.cwd, profile: values.profile });
  if (a.profile !== b.profile)
    throw new UserError(
      `diff: ${argA} is profile "${a.profile}" but ${argB} is "${b.profile}"; compare like with like`,
    );
  const d = diffReports(a, b);
  if (values.json) {
    io.stdout(
      `${JSON.stringify({ metrics: d.metrics, claims: d.claims, arms: d.arms, regression: d.regression, reasons: d.reasons }, null, 2)}\n`,
    );
  } else {
    io.stdout(renderDiff(d, [argA, argB]));
  }
  return d.regression ? 1 : 0;
}

export function run(argv: string[]): Promise<number> {
  return main(argv, { cwd: process.cwd(), stdout: (s) => process.stdout.write(s) });
}
