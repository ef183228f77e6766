import { spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname, "..");
const BIN = join(ROOT, "bin", "lora-bench.js");

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run the real `lora-bench` binary in a child process. */
export function cli(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: opts.cwd ?? ROOT,
    env: { ...process.env, ...opts.env },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = "lora-bench-"): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Like cli(), without blocking the event loop (needed when the test process also serves HTTP). */
export function cliAsync(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
    });
    child.on("close", (code) => done({ code: code ?? -1, stdout, stderr }));
  });
}

/** The embedded tiny model's tokenizer files, to save beside a test checkpoint. */
export function tinyTokenizerFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"])
    files[f] = readFileSync(join(ROOT, "fixtures/tiny", f), "utf8");
  return files;
}
