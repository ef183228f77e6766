import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderPerf } from "../../harness/report/perf-figures.ts";
import { chartFileName, duration, readSection, renderResults } from "../../harness/report/readme.ts";
import { readReport } from "../../harness/report/write.ts";
import { ROOT } from "../cli-helpers.ts";

// The README's measured figures are generated from the committed reports, never typed by hand.
describe("the README's figures come from the reports", () => {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  it("the engine paragraph is reports/perf.json rendered", () => {
    const perf = JSON.parse(readFileSync(join(ROOT, "reports/perf.json"), "utf8"));
    expect(readSection(readme, "perf")).toBe(renderPerf(perf));
  });

  it("the results section is reports/latest.json rendered", () => {
    const report = readReport(join(ROOT, "reports/latest.json"));
    expect(readSection(readme, "results")).toBe(
      renderResults(report, `reports/${chartFileName(report.profile)}`),
    );
  });

  it("says wall time the way a reader does", () => {
    expect([duration(7.4), duration(137), duration(3 * 3600 + 5 * 60 + 9)]).toEqual([
      "7 s",
      "2 min 17 s",
      "3 h 05 min",
    ]);
  });
});
