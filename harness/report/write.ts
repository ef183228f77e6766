/**
 * Report files. Layout under a reports directory (normally `reports/`):
 *   latest.json                              the default profile ("tiny")
 *   latest-<profile>.json                    any other profile (e.g. latest-tinyllama.json)
 *   history/<profile>/<UTC stamp>-<commit7>[-dirty].json   one per run, never overwritten by another run
 * The default profile keeps the bare name so `reports/latest.json` is "the" report a fresh clone has.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fsError, UserError } from "../errors.ts";
import { removeStaleTemps, writeFileAtomic } from "../fsutil.ts";
import type { Report } from "./types.ts";
import { validateReport } from "./validate.ts";

export const DEFAULT_PROFILE = "tiny";

export function latestPath(dir: string, profile: string = DEFAULT_PROFILE): string {
  return join(dir, profile === DEFAULT_PROFILE ? "latest.json" : `latest-${profile}.json`);
}

/** `2025-11-29T14:03:07.412Z` → `2025-11-29T14-03-07Z`: sortable and safe on every filesystem. */
function stamp(createdAt: string): string {
  return new Date(createdAt)
    .toISOString()
    .replace(/\.\d+Z$/, "Z")
    .replace(/:/g, "-");
}

export function historyPath(dir: string, report: Report): string {
  const { commit, dirty } = report.provenance.git;
  const rev = `${commit ? commit.slice(0, 7) : "nogit"}${dirty ? "-dirty" : ""}`;
  return join(dir, "history", report.profile, `${stamp(report.created_at)}-${rev}.json`);
}

/** 2-space JSON with a trailing newline; JSON.stringify's shortest round-trip numbers are stable. */
export function serializeReport(report: Report): string {
  return `${JSON.stringify(report, null, 2)}\n`;
}

/** Write only when the bytes differ, so re-writing an unchanged report touches no file; true if written. */
export function writeIfChanged(path: string, text: string): boolean {
  if (existsSync(path) && readFileSync(path, "utf8") === text) return false;
  writeFileAtomic(path, text);
  return true;
}

/** Validate, then write the profile's latest file and this run's history file, each atomically. */
export function writeReport(dir: string, report: Report): { latest: string; history: string } {
  const latest = latestPath(dir, report.profile);
  validateReport(report, latest);
  const text = serializeReport(report);
  const history = historyPath(dir, report);
  // A run killed while writing leaves <file>.<pid>.<n>.tmp next to these files.
  removeStaleTemps(dir);
  removeStaleTemps(dirname(history));
  writeIfChanged(history, text);
  writeIfChanged(latest, text);
  return { latest, history };
}

/** Parse and validate a report; text is given when it came from elsewhere (e.g. `git show`). */
export function parseReport(text: string, file: string): Report {
  let obj: unknown;
  try {
    obj = JSON.parse(text);
  } catch (err) {
    throw new UserError(`not valid JSON: ${(err as Error).message.split("\n")[0]}`, file);
  }
  return validateReport(obj, file);
}

export function readReport(path: string): Report {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fsError(err, path);
  }
  return parseReport(text, path);
}
