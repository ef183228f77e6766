import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import diff, { diffCommand } from "../../harness/cli/commands/diff.ts";
import { classify, diffReports } from "../../harness/report/diff.ts";
import type { Report } from "../../harness/report/types.ts";
import { serializeReport } from "../../harness/report/write.ts";
import { makeArm, makeClaim, makeReport } from "./fixture.ts";

function tmp(): string {
  return mkdtempSync(join(tmpdir(), "lora-bench-diff-"));
}

function save(dir: string, name: string, r: Report): string {
  const path = join(dir, name);
  mkdirSync(join(path, ".."), { recursive: true });
  writeFileSync(path, serializeReport(r));
  return path;
}

/** B: r=8's ROUGE-2 drops below A's CI and the ROUGE-2 claim flips from holds to fails. */
function regressed(): Report {
  const b = makeReport({ created_at: "2025-12-01T00:00:00Z" });
  b.arms[1].metrics!.rouge2 = { mean: 0.08, low: 0.07, high: 0.09, per_seed: [0.08, 0.08, 0.08] };
  b.claims[0].verdict = "fails";
  return b;
}

describe("diffReports", () => {
  it("finds nothing between two runs that differ only in timing and host fields", () => {
    const b = makeReport({ created_at: "2026-01-01T00:00:00Z", timings: { total_s: 1, arms: {} } });
    b.provenance.host.cpu = "Other CPU";
    b.arms[1].seeds[0].eval_seconds = 99;
    const d = diffReports(makeReport(), b);
    expect(d.regression).toBe(false);
    expect(d.metrics).toHaveLength(12);
    expect(d.metrics.every((m) => m.delta === 0 && m.outside === null)).toBe(true);
    expect(d.claims.every((c) => c.change === "same")).toBe(true);
  });

  it("flags a metric outside A's CI and a held claim that now fails", () => {
    const d = diffReports(makeReport(), regressed());
    expect(d.regression).toBe(true);
    const m = d.metrics.find((x) => x.arm === "lora-r8" && x.metric === "rouge2")!;
    expect(m).toMatchObject({ a: 0.104, b: 0.08, outside: "below", a_ci: [0.094, 0.114] });
    expect(m.delta).toBeCloseTo(-0.024, 12);
    expect(d.claims[0]).toMatchObject({
      id: "r8-beats-base-rouge2",
      a: "holds",
      b: "fails",
      change: "regression",
    });
    expect(d.reasons).toEqual([
      'claim "r=8 beats base on ROUGE-2" held and now fails',
      "lora-r8 rouge2 0.080 is below A's 95% CI [0.094, 0.114]",
    ]);
  });

  it("counts a shift above the CI too, but not a move within it", () => {
    const b = makeReport();
    b.arms[0].metrics!.rouge1.mean = 0.25;
    b.arms[1].metrics!.rouge1.mean = 0.23;
    const d = diffReports(makeReport(), b);
    expect(d.metrics.filter((m) => m.outside).map((m) => [m.arm, m.outside])).toEqual([["base", "above"]]);
    expect(d.regression).toBe(true);
  });

  it("classifies verdict changes; held → inconclusive is 'weakened', not a regression", () => {
    expect(classify("holds", "fails")).toBe("regression");
    expect(classify("holds", "inconclusive")).toBe("weakened");
    expect(classify("inconclusive", "fails")).toBe("weakened");
    expect(classify("fails", "holds")).toBe("improved");
    expect(classify("fails", "inconclusive")).toBe("improved");
    expect(classify(null, "holds")).toBe("added");
    expect(classify("holds", null)).toBe("removed");
    const b = makeReport();
    b.claims[0].verdict = "inconclusive";
    expect(diffReports(makeReport(), b).regression).toBe(false);
  });

  it("reports arms and claims added or removed without calling them regressions", () => {
    const b = makeReport({ arms: [...makeReport().arms.slice(0, 2), makeArm("lora-r32-rslora")] });
    b.claims = [...b.claims.slice(1), makeClaim("new", { name: "rsLoRA rescues r=32" })];
    const d = diffReports(makeReport(), b);
    expect(d.arms).toEqual({ added: ["lora-r32-rslora"], removed: ["lora-r32"] });
    expect(d.claims.filter((c) => c.change !== "same").map((c) => [c.id, c.change])).toEqual([
      ["r8-beats-base-rouge2", "removed"],
      ["new", "added"],
    ]);
    expect(d.regression).toBe(false);
  });
});

describe("lora-bench diff (files)", () => {
  afterEach(() => vi.restoreAllMocks());

  function capture(): () => string {
    const out: string[] = [];
    vi.spyOn(process.stdout, "write").mockImplementation((s) => {
      out.push(String(s));
      return true;
    });
    return () => out.join("");
  }

  it("exits 0 with a table when nothing regressed", async () => {
    const dir = tmp();
    const a = save(dir, "a.json", makeReport());
    const b = save(dir, "b.json", makeReport({ created_at: "2025-12-01T00:00:00Z" }));
    const out = capture();
    expect(await diff.run([a, b])).toBe(0);
    expect(out()).toMatch(/\| lora-r8 +\| ROUGE-2 +\| +0\.104 \| +0\.104 \| +0\.000 \|/);
    expect(out()).toContain("No regression.");
  });

  it("exits 1 on a regression and marks it", async () => {
    const dir = tmp();
    const a = save(dir, "a.json", makeReport());
    const b = save(dir, "b.json", regressed());
    const out = capture();
    expect(await diff.run([a, b])).toBe(1);
    expect(out()).toContain("▼ below CI");
    expect(out()).toContain("❌ regression");
    expect(out()).toContain("- lora-r8 rouge2 0.080 is below A's 95% CI");
  });

  it("--json prints {metrics, claims, regression}", async () => {
    const dir = tmp();
    const out = capture();
    const code = await diff.run([
      save(dir, "a.json", makeReport()),
      save(dir, "b.json", regressed()),
      "--json",
    ]);
    expect(code).toBe(1);
    const json = JSON.parse(out());
    expect(Object.keys(json)).toEqual(["metrics", "claims", "arms", "regression", "reasons"]);
    expect(json.regression).toBe(true);
    expect(json.metrics![0]).toEqual({
      arm: "base",
      metric: "rouge1",
      a: 0.221,
      b: 0.221,
      delta: 0,
      a_ci: [0.211, 0.231],
      outside: null,
    });
    expect(json.claims[0]).toEqual({
      id: "r8-beats-base-rouge2",
      name: "r=8 beats base on ROUGE-2",
      a: "holds",
      b: "fails",
      change: "regression",
    });
  });

  it("user errors: wrong arity, unknown file or ref, invalid report, different profiles", async () => {
    const dir = tmp();
    const a = save(dir, "a.json", makeReport());
    await expect(diff.run([a])).rejects.toThrow(/^diff: expected two reports, got 1/);
    await expect(diffCommand({ cwd: dir, stdout: () => {} }).run([a, "nope.json"])).rejects.toThrow(
      '"nope.json" is neither a report file nor a git ref (no such file)',
    );
    const bad = join(dir, "bad.json");
    writeFileSync(bad, "{}");
    await expect(diff.run([a, bad])).rejects.toThrow(`${bad}: invalid report: $.schema_version: is required`);
    const other = save(dir, "o.json", makeReport({ profile: "tinyllama" }));
    await expect(diff.run([a, other])).rejects.toThrow(/profile "tiny" but .* is "tinyllama"/);
  });
});

describe("lora-bench diff (git refs)", () => {
  function repo(): string {
    const dir = tmp();
    const git = (...args: string[]) =>
      execFileSync(
        "git",
        ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", ...args],
        {
          cwd: dir,
          stdio: "pipe",
        },
      );
    git("init", "-q");
    save(dir, "reports/latest.json", makeReport());
    writeFileSync(join(dir, "README.md"), "x\n");
    git("add", ".");
    git("commit", "-q", "-m", "one");
    save(dir, "reports/latest.json", regressed());
    save(dir, "reports/latest-tinyllama.json", makeReport({ profile: "tinyllama" }));
    git("add", ".");
    git("commit", "-q", "-m", "two");
    return dir;
  }

  it("reads reports/latest.json at each ref; a ref and a file mix", async () => {
    const dir = repo();
    const out: string[] = [];
    const io = { cwd: dir, stdout: (s: string) => out.push(s) };
    expect(await diffCommand(io).run(["HEAD~1", "HEAD"])).toBe(1);
    expect(out.join("")).toMatch(/\| Claim +\| HEAD~1 +\| HEAD +\| Change +\|/);
    expect(out.join("")).toMatch(/\| r=8 beats base on ROUGE-2 +\| holds +\| fails +\| ❌ regression \|/);
    expect(await diffCommand(io).run(["HEAD", "reports/latest.json"])).toBe(0);
    expect(await diffCommand(io).run(["HEAD", "HEAD", "--profile", "tinyllama"])).toBe(0);
  });

  it("unknown ref and file missing at the ref are one-line user errors", async () => {
    const dir = repo();
    const io = { cwd: dir, stdout: () => {} };
    await expect(diffCommand(io).run(["no-such-ref", "HEAD"])).rejects.toThrow(
      '"no-such-ref" is neither a report file nor a git ref',
    );
    const err = await diffCommand(io)
      .run(["HEAD~1", "HEAD", "--profile", "tinyllama"])
      .catch((e: Error) => e);
    expect(String((err as Error).message)).toMatch(
      /^HEAD~1:reports\/latest-tinyllama\.json: no such file at HEAD~1 \(/,
    );
    expect((err as Error).message).not.toContain("\n");
    await expect(diffCommand({ cwd: tmp(), stdout: () => {} }).run(["HEAD~1", "HEAD"])).rejects.toThrow(
      '"HEAD~1" is neither a report file nor a git ref',
    );
  });
});

describe("an arm that lost every seed", () => {
  it("is a regression when it had results before", () => {
    const a = makeReport({});
    const b = makeReport({ created_at: "2025-12-02T00:00:00Z" });
    b.arms[2].metrics = null;
    b.arms[2].diagnostics = null;
    const d = diffReports(a, b);
    expect(d.regression).toBe(true);
    expect(d.reasons.join("\n")).toMatch(
      new RegExp(`arm ${b.arms[2].id} had results and now has no successful seed`),
    );
  });
});
