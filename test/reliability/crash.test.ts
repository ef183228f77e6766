/**
 * SIGKILL `lora-bench run` during training, during generation, while a cache entry is written and
 * while the report is written; rerun; two runs at once on one cache; an uninterrupted run. Then:
 * no cache entry or report is ever corrupt, reruns redo only unfinished units, and every finished
 * study has the same report (except timings/host/git) and the same predictions and adapter bytes.
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
  inspectCache,
  inspectReports,
  latestReport,
  type RunOutcome,
  runStudy,
  UNITS,
} from "./study.ts";

const root = tempDir("lora-bench-crash-");
const dirs = { chain: join(root, "chain"), together: join(root, "together"), clean: join(root, "clean") };
let steps: CrashStep[];
let together: RunOutcome[];
let clean: RunOutcome;

beforeAll(async () => {
  const fx = await buildFixtures(join(root, "fx"));
  const cfg = (d: string) => crashStudy(d, fx);
  [steps, together, clean] = await Promise.all([
    crashChain(cfg(dirs.chain), join(dirs.chain, "cache"), join(dirs.chain, "reports")),
    concurrentRuns(cfg(dirs.together)),
    runStudy(cfg(dirs.clean)),
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

describe("determinism", () => {
  it("killed-and-resumed, concurrent and uninterrupted runs give identical reports (except timings, host, git)", () => {
    expect(clean.code, clean.stderr).toBe(0);
    const want = comparable(latestReport(join(dirs.clean, "reports")));
    expect(comparable(latestReport(join(dirs.chain, "reports")))).toEqual(want);
    expect(comparable(latestReport(join(dirs.together, "reports")))).toEqual(want);
  });

  it("predictions, training losses and adapter bytes are bit-identical across those runs", () => {
    for (const other of [dirs.chain, dirs.together]) {
      const cmp = compareCaches(join(dirs.clean, "cache"), join(other, "cache"));
      expect(cmp).toHaveLength(UNITS);
      for (const u of cmp) expect(u, u.unit).toMatchObject({ predictions: true });
      for (const u of cmp.filter((x) => x.adapter !== null))
        expect(u, u.unit).toMatchObject({ adapter: true, loss: true });
    }
  });
});
