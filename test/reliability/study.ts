/**
 * Crash, concurrency and determinism passes over a small real study (5 units: base + r8 and r32 ×
 * 2 seeds), shared by test/reliability/crash.test.ts and `npm run reliability`. No vitest import.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Report } from "../../harness/report/types.ts";
import { validateReport } from "../../harness/report/validate.ts";
import { stripVolatile } from "../../harness/report/volatile.ts";
import { readUnitResult, type UnitResult } from "../../harness/study/cache.ts";
import { ROOT } from "../cli-helpers.ts";
import { BIN, type Fixtures, studyConfig } from "./cases.ts";

export const UNITS = 5;
/** The r=32 arm's units, which diverge at step 1. */
export const FAILED_UNITS = ["lora-r32 seed 1", "lora-r32 seed 2"];

/**
 * The crash study's config in dir: 2 epochs of 4 steps and 2 decoding batches per unit (kill windows).
 * Its r=32 arm diverges on purpose: alpha 1e300 makes PEFT's scaling alpha/r overflow float32 to
 * Infinity, and Infinity × B = 0 is NaN in the first forward, so every pass also covers a failed arm.
 */
export function crashStudy(
  dir: string,
  fx: Fixtures,
  o: { threads?: number; extraArm?: string } = {},
): string {
  mkdirSync(dir, { recursive: true });
  const file = studyConfig(dir, { model: fx.model, dataset: fx.dataset });
  let text = readFileSync(file, "utf8")
    .replace("seeds: [1],", "seeds: [1, 2],")
    .replace("epochs: 1, lr: 1e-3, batchSize: 4", "epochs: 2, lr: 1e-3, batchSize: 2")
    .replace("decoding: { maxNewTokens: 4, batchSize: 4 }", "decoding: { maxNewTokens: 8, batchSize: 2 }")
    .replace(
      '{ id: "lora-r8", kind: "lora", r: 8 }]',
      `{ id: "lora-r8", kind: "lora", r: 8 }, { id: "lora-r32", kind: "lora", r: 32, alpha: 1e300 }${o.extraArm ? `, ${o.extraArm}` : ""}]`,
    );
  if (o.threads !== undefined) text = text.replace('device: "cpu",', `device: "cpu", threads: ${o.threads},`);
  writeFileSync(file, text);
  return file;
}

export interface Trigger {
  /** Kill when a stderr line matches. */
  line?: RegExp;
  /** Kill when this returns true (polled every 2 ms). */
  poll?: () => boolean;
}

export interface RunOutcome {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** The trigger fired and the process was SIGKILLed. */
  killed: boolean;
  /** "arm seed N" of every unit the run showed progress for. */
  worked: Set<string>;
}

/** Run `lora-bench run --config …`, SIGKILL it when the trigger fires. */
export function runStudy(config: string, trigger: Trigger = {}, extra: string[] = []): Promise<RunOutcome> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, "run", "--config", config, ...extra], {
      cwd: ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let pending = "";
    let killed = false;
    const worked = new Set<string>();
    const kill = () => {
      if (killed) return;
      killed = true;
      child.kill("SIGKILL");
    };
    const timer = trigger.poll
      ? setInterval(() => {
          if (trigger.poll!()) kill();
        }, 2)
      : undefined;
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
      pending += d;
      const lines = pending.split("\n");
      pending = lines.pop()!;
      for (const l of lines) {
        const m = /^\[(\S+ seed \d+)\] (train|generate)/.exec(l);
        if (m) worked.add(m[1]);
        if (trigger.line?.test(l)) kill();
      }
    });
    const guard = setTimeout(() => child.kill("SIGKILL"), 300_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearInterval(timer);
      clearTimeout(guard);
      resolveRun({ code, signal, stdout, stderr, killed, worked });
    });
  });
}

export interface CacheState {
  /** Valid entries (checksum verified), keyed by cache key. */
  entries: Map<string, UnitResult>;
  /** Entry directories whose result.json is missing or fails its checksum. */
  corrupt: string[];
  /** Temp directories left by a killed writer (not entries; never read). */
  strays: string[];
}

/** Read every entry of a cache directory the way the runner does, and say what is wrong. */
export function inspectCache(cacheDir: string): CacheState {
  const arms = join(cacheDir, "arms");
  const state: CacheState = { entries: new Map(), corrupt: [], strays: [] };
  if (!existsSync(arms)) return state;
  for (const name of readdirSync(arms).sort()) {
    if (name.endsWith(".tmp")) {
      state.strays.push(name);
      continue;
    }
    const warnings: string[] = [];
    const r = readUnitResult(cacheDir, name, (m) => warnings.push(m));
    if (r && r.key === name) state.entries.set(name, r);
    else state.corrupt.push(`${name}${warnings.length ? `: ${warnings[0]}` : ": no result.json"}`);
  }
  return state;
}

export const unitName = (r: Pick<UnitResult, "armId" | "seed">) => `${r.armId} seed ${r.seed}`;

/** Report files under reportsDir (latest*.json, history/**): the invalid ones, and temp files left by a kill. */
export function inspectReports(reportsDir: string): { files: string[]; invalid: string[]; temps: string[] } {
  const out = { files: [] as string[], invalid: [] as string[], temps: [] as string[] };
  if (!existsSync(reportsDir)) return out;
  for (const rel of (readdirSync(reportsDir, { recursive: true }) as string[]).sort()) {
    const p = join(reportsDir, rel);
    if (p.endsWith(".tmp")) out.temps.push(rel);
    if (!p.endsWith(".json")) continue;
    out.files.push(rel);
    try {
      validateReport(JSON.parse(readFileSync(p, "utf8")), p);
    } catch (err) {
      out.invalid.push(`${rel}: ${(err as Error).message}`);
    }
  }
  return out;
}

/** "N unit(s) computed, M from cache" from a run's stderr. */
export function summaryCounts(stderr: string): { computed: number; cached: number } | null {
  const m = /(\d+) unit\(s\) computed, (\d+) from cache/.exec(stderr);
  return m ? { computed: Number(m[1]), cached: Number(m[2]) } : null;
}

export function latestReport(reportsDir: string): Report {
  return validateReport(JSON.parse(readFileSync(join(reportsDir, "latest.json"), "utf8")));
}

/** A report without the fields that legitimately differ between runs (timings, host, git). */
export function comparable(r: Report): unknown {
  const s = stripVolatile(r);
  return { ...s, provenance: { ...s.provenance, git: null } };
}

/** Paths (as "$.a.b[0]") where two JSON values differ, at most `max`. */
export function jsonDiff(a: unknown, b: unknown, path = "$", out: string[] = [], max = 20): string[] {
  if (out.length >= max) return out;
  if (a === b) return out;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) {
    out.push(`${path}: ${JSON.stringify(a)?.slice(0, 60)} ≠ ${JSON.stringify(b)?.slice(0, 60)}`);
    return out;
  }
  if (Array.isArray(a) !== Array.isArray(b)) {
    out.push(`${path}: array vs object`);
    return out;
  }
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const p = Array.isArray(a) ? `${path}[${k}]` : `${path}.${k}`;
    jsonDiff((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], p, out, max);
  }
  return out;
}

const sha = (p: string) => createHash("sha256").update(readFileSync(p)).digest("hex");

/** Per unit: predictions equal? adapter bytes equal? final loss equal? Between two caches. */
export function compareCaches(
  a: string,
  b: string,
): { unit: string; predictions: boolean; adapter: boolean | null; loss: boolean | null }[] {
  const ea = inspectCache(a).entries;
  const eb = inspectCache(b).entries;
  const out = [];
  for (const [key, ra] of ea) {
    const rb = eb.get(key);
    if (!rb) continue;
    const ad = (c: string) => join(c, "arms", key, "adapter", "adapter_model.safetensors");
    out.push({
      unit: unitName(ra),
      predictions: JSON.stringify(ra.predictions) === JSON.stringify(rb.predictions),
      adapter: existsSync(ad(a)) && existsSync(ad(b)) ? sha(ad(a)) === sha(ad(b)) : null,
      loss:
        ra.train && rb.train
          ? JSON.stringify(ra.train.curve.map((c) => c.loss)) ===
            JSON.stringify(rb.train.curve.map((c) => c.loss))
          : null,
    });
  }
  return out.sort((x, y) => (x.unit < y.unit ? -1 : 1));
}

export interface CrashStep {
  point: string;
  /** The trigger fired and the run was SIGKILLed (false: it ended first). */
  killed: boolean;
  exit: number | string | null;
  /** Units valid in the cache before this run. */
  cachedBefore: string[];
  /** Units this run worked on although they were already cached (must be none). */
  redone: string[];
  cache: CacheState;
  reports: { files: string[]; invalid: string[]; temps: string[] };
  summary: { computed: number; cached: number } | null;
  stderrTail: string;
}

/**
 * SIGKILL `lora-bench run` at successive points of one study — during training, during generation,
 * while a cache entry is being written, while the report is being written — then let it finish.
 */
export async function crashChain(config: string, cacheDir: string, reportsDir: string): Promise<CrashStep[]> {
  const armsDir = join(cacheDir, "arms");
  const names = () => (existsSync(armsDir) ? readdirSync(armsDir) : []);
  const points: [string, () => Trigger][] = [
    ["training", () => ({ line: /\] train 1\// })],
    ["generation", () => ({ line: /\] generate 2\/4/ })],
    [
      "cache entry write",
      () => {
        const had = names().filter((n) => !n.endsWith(".tmp")).length;
        return { poll: () => names().some((n) => n.endsWith(".tmp")) || names().length > had };
      },
    ],
    ["report write", () => ({ poll: () => existsSync(reportsDir) })],
    ["rerun to completion", () => ({})],
  ];
  const steps: CrashStep[] = [];
  for (const [point, trigger] of points) {
    const before = inspectCache(cacheDir);
    const cachedBefore = [...before.entries.values()].map(unitName).sort();
    const r = await runStudy(config, trigger());
    steps.push({
      point,
      killed: r.killed && r.signal === "SIGKILL",
      exit: r.signal ?? r.code,
      cachedBefore,
      redone: [...r.worked].filter((u) => cachedBefore.includes(u)),
      cache: inspectCache(cacheDir),
      reports: inspectReports(reportsDir),
      summary: summaryCounts(r.stderr),
      stderrTail: r.stderr.trim().split("\n").slice(-3).join(" | "),
    });
  }
  return steps;
}

/** Two runs started together on one cache directory. */
export async function concurrentRuns(config: string): Promise<RunOutcome[]> {
  return Promise.all([runStudy(config), runStudy(config)]);
}
