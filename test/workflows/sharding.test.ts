/**
 * The acceptance test of sharding: plan → each arm in its own process and cache dir → merge into a
 * fresh cache gives the report a single `lora-bench run` gives (timings, host and git aside); merge
 * refuses results from another model or device and names a planned arm that no directory has.
 */
import { copyFileSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { Report } from "../../harness/report/types.ts";
import { validateReport } from "../../harness/report/validate.ts";
import { stripVolatile } from "../../harness/report/volatile.ts";
import { cli, tempDir } from "../cli-helpers.ts";
import { makeSmallStudy, type SmallStudy } from "../study/small-study.ts";

function latest(reportsDir: string): Report {
  return validateReport(JSON.parse(readFileSync(join(reportsDir, "latest.json"), "utf8")));
}

/** What two runs of one plan must agree on: everything but when, where and at which commit. */
function comparable(r: Report) {
  const s = stripVolatile(r);
  return { ...s, provenance: { ...s.provenance, git: null } };
}

interface PlannedArm {
  id: string;
  units: { seed: number; key: string }[];
}

describe("sharding a study: plan → one process per arm → merge", () => {
  let s: SmallStudy;
  let arms: PlannedArm[];
  const jobs: Record<string, string> = {};

  beforeAll(() => {
    s = makeSmallStudy();
    const plan = cli(["plan", "--config", s.config, "--json"]);
    expect(plan.code, plan.stderr).toBe(0);
    arms = JSON.parse(plan.stdout).arms;
    expect(arms.map((a) => a.id)).toEqual(["base", "lora-r8", "lora-r32"]);
    for (const a of arms) {
      jobs[a.id] = join(s.dir, "jobs", a.id);
      const r = cli(["run", "--config", s.config, "--arm", a.id, "--cache", jobs[a.id], "--device", "cpu"]);
      expect(r.code, r.stderr).toBe(0);
    }
  });

  it("each job holds exactly its arm's planned runs", () => {
    for (const a of arms)
      expect(readdirSync(join(jobs[a.id], "arms")).sort(), a.id).toEqual(a.units.map((u) => u.key).sort());
  });

  it("merge into a fresh cache gives the report of a single-process run of the same config", () => {
    const merged = cli([
      "merge",
      ...Object.values(jobs),
      "--config",
      s.config,
      "--cache",
      join(s.dir, "main"),
    ]);
    expect(merged.code, merged.stderr).toBe(0);
    expect(merged.stderr).toMatch(/0 unit\(s\) computed, 5 from cache/);
    const sharded = latest(s.reportsDir);

    // The same config in another temp dir: same model and data files, its own cache, reports, README.
    const other = tempDir("lora-bench-single-");
    let text = readFileSync(s.config, "utf8");
    for (const [from, to] of [
      [s.cacheDir, join(other, "cache")],
      [s.reportsDir, join(other, "reports")],
      [s.readme, join(other, "README.md")],
    ])
      text = text.replace(JSON.stringify(from), JSON.stringify(to));
    expect(text).not.toContain(JSON.stringify(s.cacheDir));
    writeFileSync(join(other, "bench.config.mts"), text);
    copyFileSync(s.readme, join(other, "README.md"));
    const single = cli(["run", "--config", join(other, "bench.config.mts")]);
    expect(single.code, single.stderr).toBe(0);
    expect(single.stderr).toMatch(/5 unit\(s\) computed, 0 from cache/);

    expect(comparable(sharded)).toEqual(comparable(latest(join(other, "reports"))));
    // Not vacuous: the reports carry the runs.
    expect(sharded.arms[1].seeds.map((x) => x.seed)).toEqual([1, 2]);
    expect(sharded.claims.length).toBeGreaterThan(0);
  });

  it("refuses a job dir whose entry came from another model: exit 2, one line naming the entry", () => {
    const foreign = makeSmallStudy({ weightsSeed: 2 });
    const dir = join(foreign.dir, "jobs", "lora-r8");
    const ran = cli(["run", "--config", foreign.config, "--arm", "lora-r8", "--cache", dir, "--seeds", "1"]);
    expect(ran.code, ran.stderr).toBe(0);
    const [key] = readdirSync(join(dir, "arms"));

    const before = statSync(join(s.reportsDir, "latest.json")).mtimeMs;
    const r = cli(["merge", jobs.base, dir, jobs["lora-r32"], "--config", s.config, "--cache", tempDir()]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(join(dir, "arms", key));
    expect(lines[0]).toMatch(/refusing lora-r8 seed 1: model sha256 [0-9a-f]{12} ≠ [0-9a-f]{12}/);
    expect(statSync(join(s.reportsDir, "latest.json")).mtimeMs).toBe(before);
  });

  it("refuses results computed on another device: a CUDA merge of CPU jobs names the first entry", () => {
    const r = cli([
      "merge",
      ...Object.values(jobs),
      "--config",
      s.config,
      "--cache",
      tempDir(),
      "--device",
      "cuda",
    ]);
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/refusing base seed 1: device cpu ≠ cuda/);
    expect(lines[0]).toContain(join(jobs.base, "arms"));
  });

  it("errors when a planned arm is in no directory", () => {
    const r = cli(["merge", jobs.base, jobs["lora-r8"], "--config", s.config, "--cache", tempDir()]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/merge: 2 planned run\(s\) in no directory, e\.g\. lora-r32 seed 1/);
  });
});
