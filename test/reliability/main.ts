/**
 * `npm run reliability`: run the bad-input case table through the real CLI, SIGKILL a small study at
 * four points and resume it, run two studies at once on one cache, compare finished studies for
 * determinism, and measure thread-count reproducibility; print one table. Exit 1 when any check fails.
 * The case table and study helpers live under test/reliability (the vitest specs use the same ones).
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { markdownTable } from "markdown-table";
import { buildFixtures, CASES, pool, runCase } from "./cases.ts";
import {
  comparable,
  compareCaches,
  concurrentRuns,
  crashChain,
  crashStudy,
  FAILED_UNITS,
  inspectCache,
  inspectReports,
  jsonDiff,
  latestReport,
  UNITS,
  unitName,
} from "./study.ts";
import { threadFindings } from "./threads.ts";

const say = (m: string) => process.stderr.write(`${m}\n`);

async function main(): Promise<number> {
  const t0 = performance.now();
  const root = mkdtempSync(join(os.tmpdir(), "lora-bench-reliability-"));
  try {
    const fx = await buildFixtures(join(root, "fixtures"));

    say(`bad inputs: ${CASES.length} cases through the real CLI…`);
    const outcomes = await pool(CASES, 3, (c, i) => runCase(c, join(root, `case-${i}`), fx));
    const unclear = outcomes.filter((o) => o.problems.length > 0);
    for (const o of unclear) say(`  ✗ ${o.id}: ${o.problems.join("; ")}`);

    say("crash and concurrency runs of a small study (5 units, r=32 diverges by design)…");
    const dirs = { chain: join(root, "chain"), together: join(root, "together") };
    const cfg = (d: string) => crashStudy(d, fx);
    const [steps, together] = await Promise.all([
      crashChain(cfg(dirs.chain), join(dirs.chain, "cache"), join(dirs.chain, "reports")),
      concurrentRuns(cfg(dirs.together)),
    ]);
    const crashProblems: string[] = [];
    for (const s of steps) {
      const last = s === steps.at(-1);
      if (!last && !s.killed) crashProblems.push(`${s.point}: kill point not reached`);
      if (s.cache.corrupt.length)
        crashProblems.push(`${s.point}: corrupt cache ${s.cache.corrupt.join(", ")}`);
      if (s.reports.invalid.length)
        crashProblems.push(`${s.point}: invalid report ${s.reports.invalid.join(", ")}`);
      if (s.redone.length) crashProblems.push(`${s.point}: redid cached ${s.redone.join(", ")}`);
      say(
        `  ${s.point}: ${s.killed ? "SIGKILL" : `exit ${s.exit}`}; ${s.cache.entries.size} valid entries, ` +
          `${s.cache.corrupt.length} corrupt, ${s.cache.strays.length} temp dir(s); report files ${s.reports.files.length}, ` +
          `invalid ${s.reports.invalid.length}, temp ${s.reports.temps.length}` +
          (s.summary ? `; "${s.summary.computed} unit(s) computed, ${s.summary.cached} from cache"` : ""),
      );
    }
    const final = steps.at(-1)!;
    if (final.exit !== 0) crashProblems.push(`rerun exit ${final.exit}: ${final.stderrTail}`);
    if (
      final.summary?.computed !== UNITS - final.cachedBefore.length ||
      final.summary?.cached !== final.cachedBefore.length
    )
      crashProblems.push(
        `rerun summary ${JSON.stringify(final.summary)} ≠ ${final.cachedBefore.length} cached`,
      );
    if (final.cache.strays.length || final.reports.temps.length)
      crashProblems.push("temp files left after rerun");
    const waited = together.filter((r) => /is in use by process \d+; waiting/.test(r.stderr));
    const togetherCache = inspectCache(join(dirs.together, "cache"));
    if (together.some((r) => r.code !== 0)) crashProblems.push("concurrent: a run failed");
    if (waited.length !== 1)
      crashProblems.push(`concurrent: ${waited.length} run(s) said they waited, expected 1`);
    if (togetherCache.corrupt.length || togetherCache.entries.size !== UNITS)
      crashProblems.push("concurrent: cache not complete and valid");
    if (inspectReports(join(dirs.together, "reports")).invalid.length)
      crashProblems.push("concurrent: invalid report");
    for (const p of crashProblems) say(`  ✗ ${p}`);
    const killsSurvived = steps.filter((s) => s.killed).length;

    // The r=32 arm diverges by design (alpha 1e300): it must come out failed, with step and reason, and
    // every other unit ok. A unit missing from a finished cache, or failed unexpectedly, is lost.
    let lost = 0;
    let recordedFailures = 0;
    for (const d of [dirs.chain, dirs.together]) {
      const entries = [...inspectCache(join(d, "cache")).entries.values()];
      lost += UNITS - entries.length;
      for (const e of entries) {
        const shouldFail = FAILED_UNITS.includes(unitName(e));
        if (shouldFail && e.status === "failed" && e.error?.step === 1) recordedFailures += 1;
        else if (shouldFail || e.status !== "ok") lost += 1;
      }
      const report = latestReport(join(d, "reports"));
      for (const a of report.arms)
        if ((a.id === "lora-r32") !== (a.metrics === null))
          crashProblems.push(`${d}: arm ${a.id} metrics wrong`);
    }

    say("determinism: the resumed study vs the uninterrupted one…");
    const differences: string[] = [];
    for (const diff of jsonDiff(
      comparable(latestReport(join(dirs.together, "reports"))),
      comparable(latestReport(join(dirs.chain, "reports"))),
    ))
      differences.push(`report ${diff}`);
    for (const u of compareCaches(join(dirs.together, "cache"), join(dirs.chain, "cache")))
      for (const k of ["predictions", "adapter", "loss"] as const)
        if (u[k] === false) differences.push(`${u.unit}: ${k} differ`);
    for (const d of differences) say(`  ✗ ${d}`);

    say("threads: onnxruntime intra-op threads 1 vs 2…");
    const threads = await threadFindings();
    const threadDiffs = threads.findings.filter((f) => !f.identical);
    for (const s of threads.seconds)
      say(`  ${s.model}: ${s.one.toFixed(1)} s with 1 thread, ${s.two.toFixed(1)} s with 2`);
    for (const f of threads.findings)
      say(
        `  ${f.identical ? "=" : "≠"} ${f.model} · ${f.what}${f.identical ? "" : ` (max |Δ| ${f.maxAbs})`}`,
      );

    const cpu = os.cpus()[0]?.model ?? "unknown CPU";
    process.stdout.write(
      `${markdownTable([
        ["check", "result"],
        ["cases tried", String(CASES.length)],
        [
          "clear errors (exit 2, one line naming file + problem, no stack, nothing written)",
          `${CASES.length - unclear.length}/${CASES.length}`,
        ],
        [
          "crashes survived (SIGKILL in training, generation, cache write, report write)",
          `${killsSurvived}/4${crashProblems.length ? ` (${crashProblems.length} problem(s))` : ""}`,
        ],
        [
          "concurrent runs on one cache",
          waited.length === 1 && !togetherCache.corrupt.length ? "second waited, cache intact" : "FAILED",
        ],
        [
          "diverged units recorded as failed (step, reason; other arms with metrics)",
          `${recordedFailures}/${2 * FAILED_UNITS.length}`,
        ],
        ["arms lost", String(lost)],
        [
          "determinism differences (resumed vs uninterrupted: report, predictions, adapters, losses)",
          String(differences.length),
        ],
        [
          "thread-count differences (1 vs 2 threads: logits, loss, grads, adapter, tokens)",
          `${threadDiffs.length}/${threads.findings.filter((f) => f.what.startsWith("1 vs 2")).length}`,
        ],
      ])}\n` +
        `${os.cpus().length} × ${cpu}, Node ${process.version}, ${((performance.now() - t0) / 1000).toFixed(0)} s\n`,
    );
    const control = threads.findings.filter((f) => f.what.startsWith("1 vs 1") && !f.identical);
    return unclear.length ||
      crashProblems.length ||
      lost ||
      recordedFailures !== 2 * FAILED_UNITS.length ||
      differences.length ||
      control.length
      ? 1
      : 0;
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`reliability: ${(err as Error)?.stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
