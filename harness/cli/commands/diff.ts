import { UserError } from "../../errors.ts";
import { diffReports } from "../../report/diff.ts";
import { renderDiff } from "../../report/diff-render.ts";
import { loadReportArg } from "../../report/resolve.ts";
import { defineCommand, JSON_FLAG } from "../command.ts";

export interface DiffIo {
  cwd: string;
  stdout: (s: string) => void;
}

/** The diff command over a given working directory and output (tests pass their own). */
export function diffCommand(io: DiffIo) {
  return defineCommand({
    name: "diff",
    positionals: "A B",
    description:
      "Compare two reports (A, B: report files or git refs). Exits 1 when B regresses against A, else 0.",
    flags: {
      ...JSON_FLAG,
      profile: { type: "string", arg: "P", help: "the profile's report to read from a git ref" },
    },
    async run({ values, positionals }) {
      if (positionals.length !== 2)
        throw new UserError(
          `diff: expected two reports, got ${positionals.length}; usage: lora-bench diff A B [--json] [--profile P]`,
        );
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
    },
  });
}

export default diffCommand({
  get cwd() {
    return process.cwd();
  },
  stdout: (s) => process.stdout.write(s),
});
