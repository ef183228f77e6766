/**
 * Just enough of GitHub Actions to check this repository's workflows without GitHub: load a workflow,
 * find the commands its `run:` scripts call, and run chosen steps locally (bash -eo pipefail, as Actions
 * does) with GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files, `${{ }}` expressions for the few contexts the
 * steps use, and artifacts as directories.
 */
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseDocument } from "yaml";
import { ROOT } from "../cli-helpers.ts";

export interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}
export interface Job {
  name?: string;
  "runs-on": string | string[];
  needs?: string | string[];
  if?: string;
  env?: Record<string, string>;
  outputs?: Record<string, string>;
  strategy?: { matrix?: Record<string, unknown>; "fail-fast"?: boolean };
  "timeout-minutes"?: number;
  permissions?: Record<string, string>;
  steps: Step[];
}
export interface Workflow {
  name?: string;
  on: Record<string, unknown>;
  env?: Record<string, string>;
  concurrency?: { group: string; "cancel-in-progress"?: boolean };
  defaults?: { run?: { shell?: string } };
  permissions?: Record<string, string>;
  jobs: Record<string, Job>;
}

export const WORKFLOWS = join(ROOT, ".github", "workflows");

/** Parse a workflow; YAML errors and warnings throw (naming the file), so a broken file fails loudly. */
export function loadWorkflow(file: string): Workflow {
  const path = join(WORKFLOWS, file);
  const doc = parseDocument(readFileSync(path, "utf8"), { prettyErrors: true });
  const problems = [...doc.errors, ...doc.warnings];
  if (problems.length) throw new Error(`${path}: ${problems.map((p) => p.message).join("; ")}`);
  return doc.toJS() as Workflow;
}

export function stepLabel(job: string, step: Step, i: number): string {
  return `${job}/${step.id ?? step.name ?? step.uses ?? `step ${i + 1}`}`;
}

// ── shell scripts ────────────────────────────────────────────────────────────────────────────────

/**
 * The simple commands of a script, each as its raw words (quotes kept, for bash to expand later):
 * line continuations joined, comments dropped, split at unquoted ; && || | and newlines, cut at the
 * first redirection. Enough for the scripts the workflows hold; not a shell.
 */
export function simpleCommands(script: string): string[][] {
  const text = script.replace(/\\\r?\n/g, " ");
  const out: string[][] = [];
  let words: string[] = [];
  let word = "";
  let quote: string | null = null;
  let redirected = false;
  const endWord = () => {
    if (word && !redirected) words.push(word);
    word = "";
  };
  const endCommand = () => {
    endWord();
    if (words.length) out.push(words);
    words = [];
    redirected = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      word += c;
      if (c === quote) quote = null;
      else if (c === "\\" && quote === '"') word += text[++i] ?? "";
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      word += c;
    } else if (c === "#" && word === "") {
      while (i < text.length && text[i] !== "\n") i++;
      endCommand();
    } else if (c === "\n" || c === ";" || c === "|" || (c === "&" && text[i + 1] === "&")) {
      if (c === "&" || (c === "|" && text[i + 1] === "|")) i++;
      endCommand();
    } else if (c === ">" || c === "<") {
      // `2>` / `>>` / `> file`: the rest of this command is redirections.
      if (/^\d+$/.test(word)) word = "";
      endWord();
      redirected = true;
    } else if (c === " " || c === "\t") {
      endWord();
    } else {
      word += c;
    }
  }
  endCommand();
  // Shell keywords and assignments in front of a command are not the command.
  return out
    .map((ws) => {
      let k = 0;
      while (
        k < ws.length &&
        (/^(if|then|else|elif|do|while|until|!|time|\{|\()$/.test(ws[k]) || /^[A-Za-z_]\w*=/.test(ws[k]))
      )
        k++;
      return ws.slice(k);
    })
    .filter((ws) => ws.length > 0);
}

export interface Invocation {
  /** The subcommand (`run`, `merge`, …). */
  command: string;
  /** The words after it, unexpanded (quotes and `$VARS` as written). */
  args: string[];
  /** How the CLI was started, e.g. `npx lora-bench`. */
  via: string;
}

/** `npx lora-bench X …`, `node bin/lora-bench.js X …` or `lora-bench X …` in a script. */
export function cliInvocations(script: string): Invocation[] {
  const out: Invocation[] = [];
  for (const ws of simpleCommands(script)) {
    const prefixes = [
      ["npx", "lora-bench"],
      ["npx", "--no-install", "lora-bench"],
      ["node", "bin/lora-bench.js"],
      ["lora-bench"],
    ];
    const p = prefixes.find((pre) => pre.every((w, i) => ws[i] === w));
    if (p && ws.length > p.length)
      out.push({ command: ws[p.length], args: ws.slice(p.length + 1), via: p.join(" ") });
  }
  return out;
}

/** The package.json scripts a script runs: `npm run X`, `npm run-script X`, `npm test`, `npm start`. */
export function npmScripts(script: string): string[] {
  const out: string[] = [];
  for (const ws of simpleCommands(script)) {
    if (ws[0] !== "npm") continue;
    if ((ws[1] === "run" || ws[1] === "run-script") && ws[2]) out.push(ws[2]);
    else if (ws[1] === "test" || ws[1] === "t") out.push("test");
    else if (ws[1] === "start") out.push("start");
  }
  return out;
}

/** Expand words the way bash would (variables, quotes, globs relative to cwd) with the given env. */
export function expandWords(words: string[], env: Record<string, string>, cwd: string): string[] {
  if (words.length === 0) return [];
  const r = spawnSync("bash", ["--noprofile", "--norc", "-c", `printf '%s\\0' ${words.join(" ")}`], {
    cwd,
    env: { PATH: process.env.PATH ?? "", ...env },
    encoding: "utf8",
  });
  if (r.status !== 0) throw new Error(`bash could not expand ${words.join(" ")}: ${r.stderr}`);
  return r.stdout.split("\0").slice(0, -1);
}

/** `$NAME` / `${NAME}` references in words (outside single quotes). */
export function variablesIn(words: string[]): string[] {
  const names = new Set<string>();
  for (const w of words)
    for (const part of w.split(/'[^']*'/))
      for (const m of part.matchAll(/\$\{?([A-Za-z_]\w*)/g)) names.add(m[1]);
  return [...names];
}

// ── expressions ──────────────────────────────────────────────────────────────────────────────────

export type Contexts = Record<string, unknown>;

/**
 * `${{ a.b.c }}` with property paths only (and `fromJSON(x)`); anything else throws, naming the
 * expression, so a step that outgrows this evaluator is noticed rather than mis-simulated.
 */
export function evaluate(value: unknown, ctx: Contexts): unknown {
  if (typeof value !== "string") return value;
  const whole = /^\s*\$\{\{\s*(.+?)\s*\}\}\s*$/.exec(value);
  const one = (expr: string): unknown => {
    const fj = /^fromJSON\((.+)\)$/.exec(expr);
    if (fj) return JSON.parse(String(one(fj[1].trim())));
    if (!/^[A-Za-z_][\w-]*(\.[A-Za-z_][\w-]*)*$/.test(expr))
      throw new Error(`expression not supported by the local runner: \${{ ${expr} }}`);
    let cur: unknown = ctx;
    for (const k of expr.split(".")) cur = (cur as Record<string, unknown> | undefined)?.[k];
    if (cur === undefined) throw new Error(`\${{ ${expr} }}: no such value in the local run`);
    return cur;
  };
  if (whole) return one(whole[1]);
  return value.replace(/\$\{\{\s*(.+?)\s*\}\}/g, (_, e: string) => String(one(e)));
}

// ── running steps ────────────────────────────────────────────────────────────────────────────────

/** Parse a GITHUB_OUTPUT file: `k=v` lines and `k<<DELIM … DELIM` blocks. */
export function parseOutputFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i]);
    if (heredoc) {
      const body: string[] = [];
      while (++i < lines.length && lines[i] !== heredoc[2]) body.push(lines[i]);
      out[heredoc[1]] = body.join("\n");
    } else if (lines[i].includes("=")) {
      const k = lines[i].indexOf("=");
      out[lines[i].slice(0, k)] = lines[i].slice(k + 1);
    }
  }
  return out;
}

export interface StepRun {
  code: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

/**
 * Run a step's script under `bash --noprofile --norc -eo pipefail` (Actions' default shell) in `cwd`
 * with `env` and fresh GITHUB_OUTPUT / GITHUB_STEP_SUMMARY files under `tmp`.
 */
export function runScript(
  script: string,
  o: { env: Record<string, string>; cwd: string; tmp: string },
): StepRun {
  mkdirSync(o.tmp, { recursive: true });
  const n = readdirSync(o.tmp).length;
  const output = join(o.tmp, `output-${n}.txt`);
  const summary = join(o.tmp, `summary-${n}.md`);
  writeFileSync(output, "");
  writeFileSync(summary, "");
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(GITHUB_|RUNNER_)/.test(k)));
  const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", script], {
    cwd: o.cwd,
    env: { ...base, ...o.env, GITHUB_OUTPUT: output, GITHUB_STEP_SUMMARY: summary, RUNNER_TEMP: o.tmp },
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
  });
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    outputs: parseOutputFile(readFileSync(output, "utf8")),
    summary: readFileSync(summary, "utf8"),
  };
}

/** The workflow's, job's and step's `env`, later winning, evaluated in `ctx`; `overrides` win over all. */
export function stepEnv(
  wf: Workflow,
  job: Job,
  step: Step,
  ctx: Contexts,
  overrides: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const layer of [wf.env, job.env, step.env])
    for (const [k, v] of Object.entries(layer ?? {}))
      env[k] = k in overrides ? overrides[k] : String(evaluate(v, { ...ctx, env }));
  return { ...env, ...overrides };
}

/**
 * actions/upload-artifact with one directory path: the artifact holds that directory's contents.
 * `mapPath` turns the workflow's relative path into the local one.
 */
export function uploadArtifact(
  step: Step,
  ctx: Contexts,
  store: string,
  mapPath: (p: string) => string,
): string {
  const name = String(evaluate(step.with?.name, ctx));
  const paths = String(evaluate(step.with?.path, ctx))
    .split("\n")
    .map((s) => s.trim())
    .filter(Boolean);
  if (paths.length !== 1) throw new Error(`upload ${name}: the local runner handles one path`);
  const dir = mapPath(paths[0]);
  // A single file is stored under its own name, as upload-artifact does.
  if (existsSync(dir) && statSync(dir).isFile()) {
    mkdirSync(join(store, name), { recursive: true });
    cpSync(dir, join(store, name, basename(dir)));
    return name;
  }
  if (!existsSync(dir) || !statSync(dir).isDirectory() || readdirSync(dir).length === 0)
    throw new Error(`upload ${name}: ${paths[0]} (${dir}) is missing or empty`);
  cpSync(dir, join(store, name), { recursive: true });
  return name;
}

/**
 * actions/download-artifact: by `name` into `path`, or by `pattern` (a glob over names) into
 * `path/<name>/` each, or all into `path` with `merge-multiple: true`.
 */
export function downloadArtifacts(
  step: Step,
  ctx: Contexts,
  store: string,
  mapPath: (p: string) => string,
): string[] {
  const w = step.with ?? {};
  const dest = mapPath(String(evaluate(w.path ?? ".", ctx)));
  const all = existsSync(store) ? readdirSync(store).sort() : [];
  if (w.name !== undefined) {
    const name = String(evaluate(w.name, ctx));
    if (!all.includes(name)) throw new Error(`download: no artifact ${name} (have ${all.join(", ")})`);
    cpSync(join(store, name), dest, { recursive: true });
    return [name];
  }
  const glob = String(evaluate(w.pattern ?? "*", ctx));
  const re = new RegExp(
    `^${glob
      .replace(/[.+^${}()|[\]\\]/g, "\\$&")
      .replace(/\*/g, ".*")
      .replace(/\?/g, ".")}$`,
  );
  const names = all.filter((n) => re.test(n));
  for (const n of names)
    cpSync(join(store, n), w["merge-multiple"] ? dest : join(dest, n), { recursive: true });
  return names;
}
