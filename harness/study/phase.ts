/**
 * Wall time and peak resident memory of one phase of a run (training an arm's units, decoding them).
 * On Linux the kernel's high-water mark (VmHWM) is reset at the start of each phase through
 * /proc/self/clear_refs, so each phase reports its own peak, not the process's so far; elsewhere the
 * figure is the process's peak up to the end of the phase (getrusage), an upper bound. The reset
 * also lowers what getrusage and /usr/bin/time report as the process's peak: take the phases' maximum.
 */
import { readFileSync, writeFileSync } from "node:fs";

export interface PhaseFigures {
  seconds: number;
  peakRssBytes: number;
}

function resetPeak(): boolean {
  try {
    writeFileSync("/proc/self/clear_refs", "5");
    return true;
  } catch {
    return false;
  }
}

function peakBytes(): number {
  try {
    const m = readFileSync("/proc/self/status", "utf8").match(/^VmHWM:\s+(\d+) kB$/m);
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux: fall through to getrusage
  }
  return process.resourceUsage().maxRSS * 1024;
}

/** Run fn as one phase; its figures go to `done`. */
export async function phase<T>(fn: () => Promise<T>, done: (f: PhaseFigures) => void): Promise<T> {
  resetPeak();
  const t0 = performance.now();
  const out = await fn();
  done({ seconds: (performance.now() - t0) / 1000, peakRssBytes: peakBytes() });
  return out;
}
