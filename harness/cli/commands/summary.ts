import { diffReports } from "../../report/diff.ts";
import { writeJobSummary } from "../../report/job-summary.ts";
import { loadReportArg } from "../../report/resolve.ts";
import { readReport } from "../../report/write.ts";
import { defineCommand } from "../command.ts";

export default defineCommand({
  name: "summary",
  description:
    "Job summary, outputs (profile, holds, fails, inconclusive, regression) and annotations for a report,\n" +
    "optionally diffed against A. Exits 0: failing the job is `lora-bench diff`'s call. Outside GitHub\n" +
    "Actions the markdown goes to stdout.",
  flags: {
    report: { type: "string", arg: "FILE", help: "the report to summarise", required: true },
    against: { type: "string", arg: "A", help: "a report file or git ref to diff against" },
  },
  async run({ values }) {
    const file = values.report;
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
  },
});
