/**
 * SIGKILL `lora-bench run` during training, during generation, while a cache entry is written and
 * while the report is written, then rerun; and two runs at once on one cache, the first of which runs
 * uninterrupted. Then: no cache entry or report is ever corrupt, reruns redo only unfinished units, the
 * study's diverging arm is recorded as failed while the others complete, and both finished studies
 * have the same report (except timings/host/git) and the same predictions and adapter bytes.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../cli-helpers.ts";
import { buildFixtures } from "./cases.ts";
import {
  type CrashStep,
  comparable,
  compareCaches,
  concurrentRuns,
  crashChain,
  crashStudy,
  FAILED_UNITS,
  inspectCache,
  inspectReports,
  latestReport,
  type RunOutcome,
  UNITS,
  unitName,
} from "./study.ts";

const root = tempDir("lora-bench-crash-");
const dirs = { chain: join(root, "chain"), together: join(root, "together") };
let steps: CrashStep[];
let together: RunOutcome[];

beforeAll(async () => {
  const fx = await buildFixtures(join(root, "fx"));
  const cfg = (d: string) => crashStudy(d, fx);
  [steps, together] = await Promise.all([
    crashChain(cfg(dirs.chain), join(dirs.chain, "cache"), join(dirs.chain, "reports")),
    concurrentRuns(cfg(dirs.together)),
  ]);
}, 400_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("crash safety", () => {
  it("each kill point was reached and the process died by SIGKILL", () => {
    expect(steps.map((s) => [s.point, s.killed])).toEqual([
      ["training", true],
      ["generation", true],
      ["cache entry write", true],
      ["report write", true],
      ["rerun to completion", false],
    ]);
  });

  it("no cache entry and no report file is ever corrupt", () => {
    for (const s of steps) {
      expect(s.cache.corrupt, s.point).toEqual([]);
      expect(s.reports.invalid, s.point).toEqual([]);
    }
  });

  it("a rerun never redoes a unit that was already cached", () => {
    for (const s of steps) expect(s.redone, s.point).toEqual([]);
  });

  it("the final rerun completes, reports its cache use exactly, and leaves no temp files", () => {
    const last = steps.at(-1)!;
    expect(last.exit).toBe(0);
    expect(last.summary).toEqual({
      computed: UNITS - last.cachedBefore.length,
      cached: last.cachedBefore.length,
    });
    expect(last.cache.entries.size).toBe(UNITS);
    expect(last.cache.strays).toEqual([]);
    expect(last.reports.temps).toEqual([]);
    expect(last.reports.files).toContain("latest.json");
  });

  it("two runs at once on one cache: the second waits and says so, reuses every unit, nothing corrupt", () => {
    expect(together.map((r) => r.code)).toEqual([0, 0]);
    const waited = together.filter((r) => /is in use by process \d+; waiting/.test(r.stderr));
    expect(waited).toHaveLength(1);
    expect(waited[0].stderr).toMatch(new RegExp(`0 unit\\(s\\) computed, ${UNITS} from cache`));
    const first = together.find((r) => r !== waited[0])!;
    expect(first.stderr).toMatch(new RegExp(`${UNITS} unit\\(s\\) computed, 0 from cache`));
    const cache = inspectCache(join(dirs.together, "cache"));
    expect(cache.entries.size).toBe(UNITS);
    expect(cache.corrupt).toEqual([]);
    expect(inspectReports(join(dirs.together, "reports")).invalid).toEqual([]);
  });
});

describe("training faults", () => {
  it("the diverging arm is recorded as failed with step and reason; the other arms have metrics", () => {
    expect(together[0].stderr + together[1].stderr).toMatch(/lora-r32 seed 1 failed: loss is NaN/);
    for (const d of [dirs.chain, dirs.together]) {
      const report = latestReport(join(d, "reports"));
      const arm = (id: string) => report.arms.find((a) => a.id === id)!;
      expect(arm("lora-r32").seeds).toEqual(
        [1, 2].map((seed) =>
          expect.objectContaining({
            seed,
            status: "failed",
            error: { step: 1, reason: "loss is NaN" },
            metrics: null,
          }),
        ),
      );
      // No successful seed: the arm has no metrics rather than made-up ones.
      expect(arm("lora-r32").metrics).toBeNull();
      for (const id of ["base", "lora-r8"]) {
        expect(arm(id).seeds.every((s) => s.status === "ok" && s.metrics !== null)).toBe(true);
        expect(arm(id).metrics?.rouge1.mean).toBeTypeOf("number");
      }
      // Claims that need r=32 cannot be judged; they say so rather than hold or fail.
      for (const c of report.claims.filter((c) => /r=32/.test(c.name) && !/sweep/.test(c.name)))
        expect(c.verdict, c.name).toBe("inconclusive");
      const failed = [...inspectCache(join(d, "cache")).entries.values()].filter(
        (e) => e.status === "failed",
      );
      expect(failed.map(unitName).sort()).toEqual(FAILED_UNITS);
    }
  });
});

describe("determinism", () => {
  it("a study killed and resumed four times and one run uninterrupted give identical reports (except timings, host, git)", () => {
    expect(comparable(latestReport(join(dirs.chain, "reports")))).toEqual(
      comparable(latestReport(join(dirs.together, "reports"))),
    );
  });

  it("predictions, training losses and adapter bytes are bit-identical across the two", () => {
    const cmp = compareCaches(join(dirs.together, "cache"), join(dirs.chain, "cache"));
    expect(cmp).toHaveLength(UNITS);
    for (const u of cmp) expect(u, u.unit).toMatchObject({ predictions: true });
    const trained = cmp.filter((x) => x.adapter !== null);
    expect(trained.map((u) => u.unit)).toEqual(["lora-r8 seed 1", "lora-r8 seed 2"]);
    for (const u of trained) expect(u, u.unit).toMatchObject({ adapter: true, loss: true });
  });
});
