import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { serializeReport } from "../../harness/report/write.ts";
import { powerEvidence } from "../../harness/study/power-evidence.ts";
import { cli } from "../cli-helpers.ts";
import { makeReport } from "../report/fixture.ts";
import { makeSmallStudy, type SmallStudy } from "../study/small-study.ts";

function oneLine(stderr: string): string {
  const lines = stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  return lines[0];
}

describe("lora-bench html: bad input writes nothing", () => {
  let s: SmallStudy;
  beforeAll(() => {
    s = makeSmallStudy();
  });
  const html = () =>
    existsSync(s.reportsDir) ? readdirSync(s.reportsDir).filter((f) => f.endsWith(".html")) : [];

  it("a profile with no report yet: one line, exit 2", () => {
    const r = cli(["html", "--config", s.config]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/latest\.json: no report for profile "tiny" yet/);
    expect(html()).toEqual([]);
  });

  it("a report that fails its schema: one line naming the file and the path, exit 2", () => {
    mkdirSync(s.reportsDir, { recursive: true });
    const bad = { ...makeReport(), schema_version: 7 };
    writeFileSync(join(s.reportsDir, "latest.json"), JSON.stringify(bad));
    const r = cli(["html", "--config", s.config]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/latest\.json: invalid report: \$\.schema_version/);
    expect(html()).toEqual([]);
  });

  it("a report whose runs are not in the cache: one line, exit 2", () => {
    writeFileSync(join(s.reportsDir, "latest.json"), serializeReport(makeReport()));
    const r = cli(["html", "--config", s.config]);
    expect(r.code).toBe(2);
    expect(oneLine(r.stderr)).toMatch(/has no runs in the cache for this report/);
    expect(html()).toEqual([]);
  });
});

describe("lora-bench power", () => {
  let s: SmallStudy;
  beforeAll(() => {
    s = makeSmallStudy();
    const report = makeReport();
    const n = 60;
    const base = Array.from({ length: n }, (_, i) => 0.1 + 0.08 * Math.sin(i));
    const a = [0.004, -0.004, 0].map((u) => base.map((x, i) => x + 0.02 + u + 0.05 * Math.cos(3 * i + u)));
    report.claims[0].evidence = { ...report.claims[0].evidence, ...powerEvidence(a, [base], 0.012) };
    mkdirSync(s.reportsDir, { recursive: true });
    writeFileSync(join(s.reportsDir, "latest.json"), serializeReport(report));
  });

  it("tabulates examples per seed count for 80% power, as JSON too", () => {
    const text = cli(["power", "--config", s.config, "--claim", "r8-beats-base-rouge2"]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/effect 0\.012 \(the study's reported Δ\)/);
    expect(text.stdout).toMatch(/seeds {2}examples for 80% power/);
    const r = cli([
      "power",
      "--config",
      s.config,
      "--claim",
      "r8-beats-base-rouge2",
      "--effect",
      "0.03",
      "--json",
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.effect).toBe(0.03);
    expect(out.needed).toHaveLength(10);
    const ns = out.needed.map((x: { examples: number | null }) => x.examples);
    // More seeds never need more examples.
    for (let i = 1; i < ns.length; i++)
      if (ns[i] !== null && ns[i - 1] !== null) expect(ns[i]).toBeLessThanOrEqual(ns[i - 1]);
  });

  it("refuses an unknown claim, a claim without power figures and a bad effect: one line, exit 2", () => {
    for (const [args, re] of [
      [["--claim", "nope"], /no claim "nope" \(have: r8-beats-base-rouge2, /],
      [["--claim", "r32-collapses"], /is not a comparison with power figures/],
      [["--claim", "r8-beats-base-rouge2", "--effect", "abc"], /--effect: "abc" is not a non-zero number/],
    ] as const) {
      const r = cli(["power", "--config", s.config, ...args]);
      expect(r.code).toBe(2);
      expect(oneLine(r.stderr)).toMatch(re);
    }
  });
});
