import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from "vitest";
import summary from "../../harness/cli/commands/summary.ts";
import { diffReports } from "../../harness/report/diff.ts";
import { writeJobSummary } from "../../harness/report/job-summary.ts";
import { serializeReport } from "../../harness/report/write.ts";
import { makeReport } from "./fixture.ts";

// @actions/core caches the summary file's path on first use, so one file serves the whole file.
const dir = mkdtempSync(join(tmpdir(), "lora-bench-summary-"));
const summaryFile = join(dir, "step-summary.md");
const outputFile = join(dir, "output.txt");
const saved = { summary: process.env.GITHUB_STEP_SUMMARY, output: process.env.GITHUB_OUTPUT };
let stdout: string[] = [];

beforeAll(() => {
  process.env.GITHUB_STEP_SUMMARY = summaryFile;
  process.env.GITHUB_OUTPUT = outputFile;
});
afterAll(() => {
  for (const [k, v] of [
    ["GITHUB_STEP_SUMMARY", saved.summary],
    ["GITHUB_OUTPUT", saved.output],
  ] as const)
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
});
beforeEach(() => {
  writeFileSync(summaryFile, "");
  writeFileSync(outputFile, "");
  stdout = [];
  vi.spyOn(process.stdout, "write").mockImplementation((s) => {
    stdout.push(String(s));
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

/** GITHUB_OUTPUT holds `name<<delimiter\nvalue\ndelimiter` blocks. */
function outputs(): Record<string, string> {
  const text = readFileSync(outputFile, "utf8");
  return Object.fromEntries([...text.matchAll(/^(\w+)<<(\S+)\n([\s\S]*?)\n\2$/gm)].map((m) => [m[1], m[3]]));
}

describe("writeJobSummary", () => {
  it("appends the results and claims tables, sets outputs, annotates failing and inconclusive claims", async () => {
    const report = makeReport();
    report.claims[1].verdict = "fails";
    writeFileSync(summaryFile, "earlier step\n");
    const { outputs: o } = await writeJobSummary(report);
    expect(o).toEqual({ holds: 2, fails: 1, inconclusive: 1, regression: false });
    const md = readFileSync(summaryFile, "utf8");
    expect(md.startsWith("earlier step\n### Reproduced results — profile `tiny`")).toBe(true);
    expect(md).toContain("| ROUGE-2 ");
    expect(md).toContain("❌ fails");
    expect(md).not.toContain("rouge-tiny.svg"); // repository paths do not resolve in a job summary
    expect(outputs()).toEqual({
      profile: "tiny",
      holds: "2",
      fails: "1",
      inconclusive: "1",
      regression: "false",
    });
    const annotations = stdout.join("");
    expect(annotations).toContain(
      "::error title=lora-bench claim fails,file=benchmarks/rank-ablation.claims.ts::r=32 collapses at N=100: fails (",
    );
    expect(annotations).toContain(
      "::warning title=lora-bench claim inconclusive,file=benchmarks/continuation.claims.ts::",
    );
  });

  it("with a diff: adds the comparison, the regression output and an error per reason", async () => {
    const b = makeReport();
    b.arms[2].metrics!.rouge1.mean = 0.3;
    await writeJobSummary(b, diffReports(makeReport(), b), ["main", "this run"]);
    expect(readFileSync(summaryFile, "utf8")).toContain("### Compared with main");
    expect(outputs().regression).toBe("true");
    expect(stdout.join("")).toContain("::error title=lora-bench regression::lora-r32 rouge1 0.300 is above");
  });
});

describe("lora-bench summary", () => {
  it("--report FILE [--against FILE] writes the summary and exits 0", async () => {
    const a = join(dir, "a.json");
    const b = join(dir, "b.json");
    writeFileSync(a, serializeReport(makeReport()));
    writeFileSync(b, serializeReport(makeReport()));
    expect(await summary.run(["--report", b, "--against", a])).toBe(0);
    expect(readFileSync(summaryFile, "utf8")).toContain(`### Compared with ${a}`);
    expect(outputs().regression).toBe("false");
    await expect(summary.run([])).rejects.toThrow("summary: missing required flag --report");
  });
});
