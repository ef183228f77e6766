/**
 * `lora-bench summary --report FILE [--against A]`: job summary, outputs (profile, holds, fails,
 * inconclusive, regression) and annotations for a report, optionally diffed against A (a report
 * file or git ref, as in `lora-bench diff`). Exits 0: failing the job is `lora-bench diff`'s call.
 * Outside Actions the markdown goes to stdout.
 */
import { parseFlags, requireFlag } from "../args.ts";
import { diffReports } from "./diff.ts";
import { loadReportArg } from "./resolve.ts";
import { writeJobSummary } from "./summary.ts";
import { readReport } from "./write.ts";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { report: { type: "string" }, against: { type: "string" } }, "summary");
  const file = requireFlag(values.report, "report", "summary");
  const report = readReport(file);
  const base = values.against ? loadReportArg(values.against, { profile: report.profile }) : undefined;
  const diff = base ? diffReports(base, report) : undefined;
  const { markdown } = await writeJobSummary(
    report,
    diff,
    values.against ? [values.against, file] : undefined,
  );
  if (!process.env.GITHUB_STEP_SUMMARY) process.stdout.write(markdown);
  return 0;
}
