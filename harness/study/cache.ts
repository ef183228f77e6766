/**
 * The arm cache: one directory per content-addressed (arm, seed) run holding result.json (with a
 * sha256 of its body, checked on read) and the trained adapter in PEFT format. Entries appear by
 * rename, so a crash leaves either nothing or a complete entry; a corrupt entry reads as missing.
 * A lock file serialises runs that share a cache directory.
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { processAlive, removeStaleTemps, writeFileAtomic } from "../fsutil.ts";
import type { PhaseFigures } from "./phase.ts";

export interface TrainRecord {
  steps: number;
  finalLoss: number;
  seconds: number;
  curve: { step: number; loss: number; lr: number; gradNorm: number }[];
}

/** One unit's (arm × seed) outcome as the cache stores it under arms/<key>/. */
export interface UnitResult {
  key: string;
  armId: string;
  seed: number;
  status: "ok" | "failed";
  error: { step: number | null; reason: string } | null;
  evalIds: string[];
  predictions: string[];
  outputTokens: number[];
  /** Per-example ROUGE F-measures as computed when the run finished (recomputed for reports). */
  scores: Record<string, number[]> | null;
  train: TrainRecord | null;
  evalSeconds: number;
  engine: string;
  /** Where it was computed (engine/version.ts): merge refuses results from another device. */
  device: string;
  executionProvider: string;
  onnxruntime: string;
  modelSha: string;
  finishedAt: string;
  /**
   * The run's phases for this unit's arm: training every unit, then decoding every unit, each with
   * its wall time and the process's peak RSS during it (null: no training phase, or an older entry).
   */
  phases?: { train: PhaseFigures | null; decode: PhaseFigures | null };
}

export function unitDir(cacheDir: string, key: string): string {
  return join(cacheDir, "arms", key);
}

function digest(body: string): string {
  return createHash("sha256").update(body, "utf8").digest("hex");
}

/** The cached result, or null when absent or corrupt (a corrupt entry is reported and ignored). */
export function readUnitResult(
  cacheDir: string,
  key: string,
  warn: (m: string) => void = () => {},
): UnitResult | null {
  const file = join(unitDir(cacheDir, key), "result.json");
  if (!existsSync(file)) return null;
  try {
    const { sha256, result } = JSON.parse(readFileSync(file, "utf8")) as {
      sha256: string;
      result: UnitResult;
    };
    if (digest(JSON.stringify(result)) !== sha256) throw new Error("checksum mismatch");
    return result;
  } catch (err) {
    warn(`${file}: corrupt cache entry (${(err as Error).message}); it will be recomputed`);
    return null;
  }
}

/** Atomically publish an entry: build it in a temp directory (adapter written by `fill`), then rename. */
export function writeUnitResult(cacheDir: string, result: UnitResult, fill?: (tmpDir: string) => void): void {
  const dir = unitDir(cacheDir, result.key);
  const tmp = `${dir}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    fill?.(tmp);
    writeFileAtomic(
      join(tmp, "result.json"),
      `${JSON.stringify({ sha256: digest(JSON.stringify(result)), result })}\n`,
    );
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Hold `${cacheDir}/lock` while fn runs. A second run waits (saying so once) until the first ends;
 * a lock left by a dead process is taken over.
 */
export async function withCacheLock<T>(
  cacheDir: string,
  fn: () => Promise<T>,
  say: (m: string) => void = () => {},
): Promise<T> {
  mkdirSync(cacheDir, { recursive: true });
  const lock = join(cacheDir, "lock");
  let told = false;
  for (;;) {
    try {
      const fd = openSync(lock, "wx");
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      const holder = Number(readFileSync(lock, "utf8").trim());
      if (!Number.isInteger(holder) || holder <= 0 || !processAlive(holder)) {
        rmSync(lock, { force: true });
        continue;
      }
      if (!told) say(`cache ${cacheDir} is in use by process ${holder}; waiting for it to finish…`);
      told = true;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  // Entries being built by a run that was killed stay behind as arms/<key>.<pid>.tmp; clear them.
  removeStaleTemps(join(cacheDir, "arms"));
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}
