/**
 * `A` in `lora-bench diff A B`: a report file, or a git ref whose committed reports/latest*.json
 * is read with `git show` (nothing is checked out).
 */
import { execFileSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { UserError } from "../errors.ts";
import type { Report } from "./types.ts";
import { DEFAULT_PROFILE, latestPath, parseReport, readReport } from "./write.ts";

function git(args: string[], cwd: string): { ok: true; out: string } | { ok: false; err: string } {
  try {
    return {
      ok: true,
      out: execFileSync("git", args, {
        cwd,
        encoding: "utf8",
        stdio: ["ignore", "pipe", "pipe"],
        maxBuffer: 1 << 30,
      }),
    };
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? (err as Error).message);
    return { ok: false, err: stderr.trim().split("\n")[0] };
  }
}

/**
 * A file path wins over a ref of the same name. For a ref, the report is the profile's latest file
 * under `reportsDir` (relative to cwd, default "reports"), as committed at that ref.
 */
export function loadReportArg(
  arg: string,
  opts: { cwd?: string; profile?: string; reportsDir?: string } = {},
): Report {
  const cwd = opts.cwd ?? process.cwd();
  const path = resolve(cwd, arg);
  if (existsSync(path) && statSync(path).isFile()) return readReport(path);

  const rel = latestPath(opts.reportsDir ?? "reports", opts.profile ?? DEFAULT_PROFILE)
    .split("\\")
    .join("/");
  const label = `${arg}:${rel}`;
  if (arg.startsWith("-")) throw new UserError(`"${arg}" is neither a report file nor a git ref`);
  const commit = git(["rev-parse", "--verify", "--quiet", `${arg}^{commit}`], cwd);
  if (!commit.ok)
    throw new UserError(
      `"${arg}" is neither a report file nor a git ref${existsSync(path) ? "" : " (no such file)"}`,
    );
  const shown = git(["show", `${commit.out.trim()}:./${rel}`], cwd);
  if (!shown.ok) throw new UserError(`no such file at ${arg} (${shown.err.replace(/^fatal: /, "")})`, label);
  return parseReport(shown.out, label);
}
