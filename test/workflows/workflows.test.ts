/**
 * The workflows are code: they parse, call only scripts, commands and flags that exist, put the GPU
 * work where the GPU is, and the nightly's plan → arm matrix → merge command lines run here for real
 * on a small study (CPU instead of CUDA, temp dirs instead of the runner's workspace).
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { validateReport } from "../../harness/report/validate.ts";
import { cli, ROOT, tempDir } from "../cli-helpers.ts";
import { makeSmallStudy } from "../study/small-study.ts";
import {
  type Contexts,
  cliInvocations,
  downloadArtifacts,
  evaluate,
  expandWords,
  type Job,
  loadWorkflow,
  npmScripts,
  runScript,
  type Step,
  stepEnv,
  stepLabel,
  uploadArtifact,
  variablesIn,
  WORKFLOWS,
  type Workflow,
} from "./actions.ts";

const FILES = readdirSync(WORKFLOWS).filter((f) => /\.ya?ml$/.test(f));
const GPU_LABELS = ["self-hosted", "linux", "x64", "gpu"];
const INSTALL_SCRIPT = ".github/scripts/install-gpu.sh";
/** An Actions expression as written in a workflow. */
const expr = (e: string) => `\${{ ${e} }}`;

/** The CLI in a child process, asynchronously (the replays run side by side). */
function cliAsync(args: string[], env: Record<string, string>): Promise<{ code: number; stderr: string }> {
  return new Promise((done) => {
    execFile(
      process.execPath,
      [join(ROOT, "bin", "lora-bench.js"), ...args],
      { cwd: ROOT, env: { ...process.env, ...env } },
      (err, _stdout, stderr) => done({ code: err ? Number(err.code ?? -1) : 0, stderr }),
    );
  });
}

function runSteps(wf: Workflow): { where: string; job: Job; jobId: string; step: Step; script: string }[] {
  return Object.entries(wf.jobs).flatMap(([jobId, job]) =>
    job.steps.flatMap((step, i) =>
      step.run ? [{ where: stepLabel(jobId, step, i), job, jobId, step, script: step.run }] : [],
    ),
  );
}

function labels(job: Job): string[] {
  return Array.isArray(job["runs-on"]) ? job["runs-on"] : [job["runs-on"]];
}

function isGpuJob(job: Job): boolean {
  return labels(job).includes("gpu") || labels(job).includes("self-hosted");
}

/** Every workflow's run scripts plus the helper scripts they call, as [where, text]. */
function allScripts(): [string, string][] {
  const out: [string, string][] = [];
  for (const f of FILES) for (const r of runSteps(loadWorkflow(f))) out.push([`${f} ${r.where}`, r.script]);
  const dir = join(ROOT, ".github", "scripts");
  for (const f of readdirSync(dir).filter((n) => n.endsWith(".sh")))
    out.push([`.github/scripts/${f}`, readFileSync(join(dir, f), "utf8")]);
  return out;
}

describe("the workflow files", () => {
  it("parse as YAML (no errors, no warnings) and every job has steps", () => {
    expect(FILES.sort()).toEqual(expect.arrayContaining(["ci.yml", "nightly-bench.yml"]));
    for (const f of FILES) {
      const wf = loadWorkflow(f);
      expect(Object.keys(wf.jobs).length, f).toBeGreaterThan(0);
      for (const [id, job] of Object.entries(wf.jobs)) {
        expect(job.steps?.length, `${f} ${id}`).toBeGreaterThan(0);
        expect(job["timeout-minutes"], `${f} ${id} has a timeout`).toBeGreaterThan(0);
      }
    }
  });

  it("run only npm scripts that package.json defines", () => {
    const scripts = Object.keys(JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts);
    const used = allScripts().flatMap(([where, text]) => npmScripts(text).map((s) => ({ where, s })));
    expect(used.map((u) => u.s)).toEqual(expect.arrayContaining(["lint", "typecheck", "test"]));
    for (const u of used) expect(scripts, `${u.where} runs "npm run ${u.s}"`).toContain(u.s);
  });

  it("call only registered lora-bench commands (as listed by `lora-bench --help`)", () => {
    const help = cli(["--help"]);
    expect(help.code).toBe(0);
    const registered = [...help.stdout.matchAll(/^ {2}(\S+) {2,}/gm)].map((m) => m[1]);
    expect(registered).toEqual(expect.arrayContaining(["plan", "run", "merge", "diff", "summary"]));
    const calls = allScripts().flatMap(([where, text]) => cliInvocations(text).map((c) => ({ where, ...c })));
    // At least the nightly's pipeline; any other command must pass the same checks.
    expect(calls.map((c) => c.command)).toEqual(
      expect.arrayContaining(["plan", "run", "merge", "summary", "diff"]),
    );
    for (const c of calls) {
      expect(registered, `${c.where}: ${c.via} ${c.command}`).toContain(c.command);
      // On a runner the CLI is the project's own bin, reached through npx after `npm ci`.
      expect(c.via, c.where).toBe("npx lora-bench");
    }
  });

  it("pass only flags the called command accepts (each call replayed with its own flags, stopping before work)", async () => {
    // Sample values for the variables the calls use: adding a variable without one fails here.
    const sample: Record<string, string> = {
      PROFILE: "tinyllama",
      SEEDS: "3",
      ARM: "lora-r8",
      REPORT: "reports/latest-tinyllama.json",
      BASELINE: "origin/main",
    };
    const nowhere = join(tempDir("lora-bench-flags-"), "missing");
    // run/plan/merge stop at the missing config file, right after parsing their flags; summary and diff
    // stop at the report they cannot find. Either way what is left to see is whether the parser objected.
    const stop = ["--config", join(nowhere, "bench.config.ts")];
    const parserError = /^lora-bench: [\w-]+: (Unknown option|Option '|Unexpected argument)/m;
    const env = { GITHUB_STEP_SUMMARY: "", GITHUB_OUTPUT: "" };

    // The check can fail: a misspelt flag is caught.
    const bogus = cli(["run", "--arms", "base", ...stop], { env });
    expect(bogus.stderr).toMatch(parserError);

    const calls = allScripts().flatMap(([where, text]) => cliInvocations(text).map((c) => ({ where, ...c })));
    const replays = calls.map(async (c) => {
      for (const v of variablesIn(c.args)) expect(Object.keys(sample), `${c.where} uses $${v}`).toContain(v);
      const argv = expandWords(c.args, sample, dirname(nowhere));
      const extra = ["plan", "run", "merge"].includes(c.command) ? stop : [];
      const r = await cliAsync([c.command, ...argv, ...extra], env);
      return { line: `${c.where}: lora-bench ${c.command} ${argv.join(" ")}`, ...r };
    });
    for (const r of await Promise.all(replays)) {
      expect(r.stderr, r.line).not.toMatch(parserError);
      expect([0, 2], `${r.line}\n${r.stderr}`).toContain(r.code);
    }
  });
});

describe("ci.yml", () => {
  const wf = loadWorkflow("ci.yml");
  const [job] = Object.values(wf.jobs);
  const runs = job.steps.map((s) => s.run ?? "");

  it("runs on push and pull request, on Node 20 and 22 with the npm cache", () => {
    expect(Object.keys(wf.on).sort()).toEqual(["pull_request", "push"]);
    expect(job.strategy?.matrix?.node).toEqual([20, 22]);
    const setup = job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
    expect(setup?.with).toMatchObject({ "node-version": expr("matrix.node"), cache: "npm" });
  });

  it("installs offline-safe, proves the ORT binding loads, then lint, typecheck, test in that order", () => {
    expect(job.env?.ONNXRUNTIME_NODE_INSTALL).toBe("skip");
    const at = (re: RegExp) => runs.findIndex((r) => re.test(r));
    const order = [
      at(/^npm ci\b/),
      at(/require\('onnxruntime-node'\)/),
      at(/^npm run lint$/),
      at(/^npm run typecheck$/),
      at(/^npm test$/),
    ];
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it("adds macOS on Apple silicon for the unit tests and the tiny bench", () => {
    expect(job["runs-on"]).toBe(expr("matrix.os"));
    expect(job.strategy?.matrix?.include).toEqual([{ os: "macos-latest", node: 20 }]);
    const mac = job.steps.filter((s) => s.if === "runner.os == 'macOS'").map((s) => s.run);
    expect(mac).toEqual(["npm run test:unit", "npm run bench"]);
    expect(job.steps.find((s) => s.run === "npm test")?.if).toBe("runner.os == 'Linux'");
  });
});

describe("nightly-bench.yml", () => {
  const wf = loadWorkflow("nightly-bench.yml");

  it("runs nightly and by hand (profile, seeds), one at a time, with a persistent HF cache", () => {
    expect((wf.on.schedule as { cron: string }[])[0].cron).toMatch(/^\S+ \S+ \* \* \*$/);
    const inputs = (wf.on.workflow_dispatch as { inputs: Record<string, { default: string }> }).inputs;
    expect(inputs.profile.default).toBe("tinyllama");
    expect(inputs.seeds.default).toBe("3");
    expect(wf.env?.PROFILE).toContain("inputs.profile");
    expect(wf.env?.SEEDS).toContain("inputs.seeds");
    expect(wf.concurrency).toEqual({ group: "nightly-bench", "cancel-in-progress": false });
    expect(wf.env?.HF_HOME).toMatch(/'\/opt\/hf-cache'/);
    expect(wf.env?.HF_TOKEN).toBe(expr("secrets.HF_TOKEN"));
    expect(wf.permissions).toEqual({ contents: "read" });
    // pipefail, as the local runner below runs the steps.
    expect(wf.defaults).toEqual({ run: { shell: "bash" } });
  });

  it("GPU jobs run on [self-hosted, linux, x64, gpu] and install with ONNXRUNTIME_NODE_INSTALL=cuda12", () => {
    const gpu = Object.entries(wf.jobs).filter(([, j]) => isGpuJob(j));
    expect(gpu.map(([id]) => id)).toEqual(["plan", "arm", "merge"]);
    for (const [id, job] of gpu) {
      expect(labels(job), id).toEqual(GPU_LABELS);
      const i = job.steps.findIndex((s) => s.run?.includes(INSTALL_SCRIPT));
      expect(i, `${id} installs through ${INSTALL_SCRIPT}`).toBeGreaterThan(0);
      const env = { ...wf.env, ...job.env, ...job.steps[i].env };
      expect(env.ONNXRUNTIME_NODE_INSTALL, id).toBe("cuda12");
      // Nothing else installs there behind the script's back.
      expect(
        job.steps.filter((s) => /\bnpm (ci|install|i)\b/.test(s.run ?? "")),
        id,
      ).toEqual([]);
      // No write token on the self-hosted runner.
      expect(job.permissions, id).toBeUndefined();
    }
    // The CUDA work is only in GPU jobs.
    for (const r of runSteps(wf))
      if (/--device cuda\b/.test(r.script)) expect(isGpuJob(r.job), r.where).toBe(true);
    expect(runSteps(wf).some((r) => /--device cuda\b/.test(r.script))).toBe(true);
  });

  it("the install script runs onnxruntime-node's install for cuda12 explicitly and checks the provider", () => {
    const sh = readFileSync(join(ROOT, INSTALL_SCRIPT), "utf8");
    expect(sh).toMatch(/node "\$ort\/script\/install" --onnxruntime-node-install=cuda12/);
    expect(sh).toMatch(/libonnxruntime_providers_cuda\.so/);
    expect(sh).toMatch(/require\('onnxruntime-node'\)/);
    expect(spawnSync("bash", ["-n", join(ROOT, INSTALL_SCRIPT)]).status).toBe(0);
    // Without the opt-in it refuses rather than installing a CPU-only engine on the GPU runner.
    const r = spawnSync("bash", [join(ROOT, INSTALL_SCRIPT)], {
      cwd: tempDir(),
      env: { PATH: process.env.PATH ?? "" },
      encoding: "utf8",
    });
    expect(r.status).toBe(2);
    expect(r.stdout).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12/);
  });

  it("the install pins Node (setup-node installs exactly the script's version) and npm, and proves CUDA with a real session", () => {
    const sh = readFileSync(join(ROOT, INSTALL_SCRIPT), "utf8");
    const node = sh.match(/^NODE_VERSION=(\d+\.\d+\.\d+)$/m)?.[1];
    expect(node).toBeDefined();
    expect(sh).toMatch(/^NPM_VERSION=\d+\.\d+\.\d+$/m);
    expect(sh).toMatch(/npm install --global [^\n]*"npm@\$NPM_VERSION"/);
    for (const [id, job] of Object.entries(wf.jobs)) {
      if (!job.steps.some((s) => s.run?.includes(INSTALL_SCRIPT))) continue;
      const setup = job.steps.find((s) => s.uses?.startsWith("actions/setup-node@"));
      expect(String(setup?.with?.["node-version"]), id).toBe(node);
    }
    // The probe runs after the install, on the CUDA provider, and fails the step when it fails.
    const probe = sh.indexOf("npx tsx .github/scripts/probe-device.ts cuda");
    expect(probe).toBeGreaterThan(sh.indexOf('node "$ort/script/install"'));
    expect(existsSync(join(ROOT, ".github/scripts/probe-device.ts"))).toBe(true);
    const cpu = spawnSync("npx", ["tsx", ".github/scripts/probe-device.ts", "cpu"], {
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(cpu.status, cpu.stdout + cpu.stderr).toBe(0);
    expect(cpu.stdout).toMatch(/CPUExecutionProvider ran MatMul → Softmax → ReduceSum/);
  });

  it("plan → arm matrix → merge, artifacts uploaded before the regression gate, PR from a GitHub-hosted job", () => {
    const { plan, arm, merge, propose } = wf.jobs;
    expect(plan.outputs?.arms).toBe(expr("steps.plan.outputs.arms"));
    expect(arm.needs).toBe("plan");
    expect(arm.strategy?.matrix?.arm).toBe(expr("fromJSON(needs.plan.outputs.arms)"));
    expect(arm.strategy?.["fail-fast"]).toBe(false);
    expect(merge.needs).toEqual(["plan", "arm"]);
    const idx = (re: RegExp) => merge.steps.findIndex((s) => re.test(`${s.uses ?? ""} ${s.run ?? ""}`));
    const lastUpload = Math.max(
      ...merge.steps.map((s, i) => (s.uses?.startsWith("actions/upload-artifact@") ? i : -1)),
    );
    expect(idx(/lora-bench merge/)).toBeLessThan(lastUpload);
    expect(lastUpload).toBeLessThan(idx(/lora-bench diff/));
    expect(idx(/lora-bench summary/)).toBeGreaterThan(idx(/lora-bench merge/));
    expect(propose.needs).toBe("merge");
    expect(propose["runs-on"]).toBe("ubuntu-latest");
    expect(propose.permissions).toEqual({ contents: "write", "pull-requests": "write" });
    expect(propose.steps.some((s) => s.uses?.startsWith("peter-evans/create-pull-request@"))).toBe(true);
    expect(propose.steps.some((s) => s.run)).toBe(false); // it runs none of the repository's code
  });
});

describe(".github/scripts/plan-matrix.mjs", () => {
  const script = join(ROOT, ".github/scripts/plan-matrix.mjs");
  const plan = {
    profile: "tinyllama",
    engine: "0.1.0+abc",
    model_sha256: "f".repeat(64),
    arms: [
      { id: "base", label: "Base", config_hash: "1", expected_cost: 5, seeds: [1], units: [] },
      { id: "lora-r8", label: "r=8", config_hash: "2", expected_cost: 90, seeds: [1, 2], units: [] },
      { id: "lora-r32", label: "r=32", config_hash: "3", expected_cost: 90, seeds: [1, 2], units: [] },
    ],
  };

  it("writes the arm ids, most expensive first (ties in plan order), as a JSON matrix output", () => {
    const tmp = tempDir();
    const r = runScript(`node ${script} <<'EOF'\n${JSON.stringify(plan)}\nEOF`, { env: {}, cwd: ROOT, tmp });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.outputs.arms)).toEqual(["lora-r8", "lora-r32", "base"]);
    expect(r.outputs.count).toBe("3");
    expect(r.summary).toMatch(/\| `lora-r8` \| r=8 \| 1, 2 \| 90 \|/);
  });

  it("rejects an empty plan and arm ids that cannot name an artifact", () => {
    const tmp = tempDir();
    for (const bad of [
      { ...plan, arms: [] },
      { ...plan, arms: [{ ...plan.arms[0], id: "a/b" }] },
      "not json",
    ]) {
      const r = runScript(
        `node ${script} <<'EOF'\n${typeof bad === "string" ? bad : JSON.stringify(bad)}\nEOF`,
        {
          env: {},
          cwd: ROOT,
          tmp,
        },
      );
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.outputs).toEqual({});
    }
  });
});

describe("the nightly's command lines run locally (small study, CPU)", () => {
  it("plan → one job per arm → artifacts → merge → summary → diff, as the workflow wires them", () => {
    const wf = loadWorkflow("nightly-bench.yml");
    const s = makeSmallStudy();
    const ws = tempDir("lora-bench-ws-");
    const store = join(ws, "_artifacts");
    const runnerTmp = join(ws, "_runner");
    const bin = join(ROOT, "bin", "lora-bench.js");

    // The runner's workspace paths, here: caches under a temp dir, reports and README the study's.
    const mapPath = (p: string): string => {
      if (p.startsWith(".cache/")) return join(ws, p);
      if (p.startsWith("reports/")) return join(s.reportsDir, p.slice("reports/".length));
      if (p === "README.md") return s.readme;
      throw new Error(`no local place for the workflow path ${p}`);
    };
    // Substitutions, and only these: the small study's config, CPU for CUDA, local paths.
    const localise = (script: string) =>
      script
        .replace(/npx lora-bench (plan|run|merge)\b/g, `node ${bin} $1 --config '${s.config}'`)
        .replace(/npx lora-bench /g, `node ${bin} `)
        .replace(/--device cuda\b/g, "--device cpu")
        .replace(/(^|[\s"'=])\.cache\//g, `$1${ws}/.cache/`)
        .replace(/(^|[\s"'=])reports\//g, `$1${s.reportsDir}/`);
    const overrides = {
      PROFILE: "tiny",
      SEEDS: "2",
      HF_HOME: join(ws, "hf"),
      HF_TOKEN: "",
      HF_HUB_OFFLINE: "1",
    };

    const runJob = (jobId: string, ctx: Contexts, baselineRef = "") => {
      const job = wf.jobs[jobId];
      const steps: Record<string, { outputs: Record<string, string> }> = {};
      const log: string[] = [];
      const env = stepEnv(wf, job, {}, ctx, overrides);
      job.steps.forEach((step, i) => {
        const where = stepLabel(jobId, step, i);
        const c = { ...ctx, steps, env };
        if (step.if) {
          const m = /^steps\.(\w+)\.outputs\.(\w+) != ''$/.exec(step.if.trim());
          if (!m) throw new Error(`${where}: condition not supported locally: ${step.if}`);
          if (!steps[m[1]]?.outputs[m[2]]) return;
        }
        if (step.uses?.match(/^actions\/(checkout|setup-node)@/)) return; // this checkout, this Node
        if (step.run?.includes(INSTALL_SCRIPT)) return; // this machine's `npm ci`; no CUDA provider here
        if (step.id === "baseline") {
          // Fetches main from GitHub; the local baseline is chosen by the caller.
          steps.baseline = { outputs: { ref: baselineRef } };
          return;
        }
        if (step.uses?.startsWith("actions/upload-artifact@")) {
          const paths = String(evaluate(step.with?.path, c)).split("\n").filter(Boolean);
          if (paths.length === 1) log.push(`upload ${uploadArtifact(step, c, store, mapPath)}`);
          // upload-artifact@v4's outputs; the summary links artifact-url.
          if (step.id)
            steps[step.id] = { outputs: { "artifact-id": "1", "artifact-url": `artifact:${step.id}` } };
          else for (const p of paths) expect(existsSync(mapPath(p.trim())), `${where}: ${p}`).toBe(true);
          return;
        }
        if (step.uses?.startsWith("actions/download-artifact@")) {
          log.push(`download ${downloadArtifacts(step, c, store, mapPath).join(",")}`);
          return;
        }
        if (!step.run) throw new Error(`${where}: ${step.uses} is not simulated locally`);
        const r = runScript(localise(step.run), {
          env: stepEnv(wf, job, step, c, overrides),
          cwd: ROOT,
          tmp: runnerTmp,
        });
        expect(r.code, `${where}\n${r.stderr}`).toBe(0);
        if (step.id) steps[step.id] = { outputs: r.outputs };
        log.push(`${where}: ok`);
        if (r.summary) log.push(r.summary);
      });
      const outputs = Object.fromEntries(
        Object.entries(job.outputs ?? {}).map(([k, v]) => {
          try {
            return [k, String(evaluate(v, { ...ctx, steps }))];
          } catch {
            return [k, ""]; // a skipped step's output is empty in Actions too
          }
        }),
      );
      return { outputs, log, steps };
    };

    // plan: its output becomes the arm job's matrix, through the same expressions Actions evaluates.
    const plan = runJob("plan", {});
    const matrix = evaluate(wf.jobs.arm.strategy?.matrix?.arm, {
      needs: { plan: { outputs: plan.outputs } },
    });
    expect(matrix).toEqual(["lora-r8", "lora-r32", "base"]);
    expect(plan.log.join("\n")).toMatch(/### Plan: profile `tiny`, 3 arm job\(s\)/);

    // arm × 3: each in its own cache dir, each uploaded as its own artifact holding only its arm.
    for (const arm of matrix as string[]) {
      const r = runJob("arm", { matrix: { arm } });
      expect(r.log).toContain(`upload arm-${arm}`);
      const entries = readdirSync(join(store, `arm-${arm}`, "arms"));
      expect(entries.length).toBe(arm === "base" ? 1 : 2);
    }

    // merge on the first night: no baseline, so a summary without --against and no diff.
    const first = runJob("merge", {}, "");
    expect(first.log[0]).toBe("download arm-base,arm-lora-r32,arm-lora-r8");
    expect(first.outputs.report).toBe(join(s.reportsDir, "latest.json"));
    const report = validateReport(JSON.parse(readFileSync(first.outputs.report, "utf8")));
    expect(report.arms.map((a) => a.id)).toEqual(["base", "lora-r8", "lora-r32"]);
    expect(report.provenance.device).toBe("cpu");
    expect(readFileSync(s.readme, "utf8")).toMatch(/r=8 beats base on ROUGE-2/);
    const summary = first.log.join("\n");
    expect(summary).toMatch(/r=8 beats base on ROUGE-2/);
    expect(summary).not.toMatch(/Compared with/);
    expect(summary).toMatch(/HTML report.*\[tiny\.html\]\(artifact:html\)/);
    expect(first.log).toContain("upload report-html-tiny");
    expect(first.steps.diff).toBeUndefined();
    for (const key of readdirSync(join(ws, ".cache/merged/arms"))) {
      const adapter = join(ws, ".cache/merged/arms", key, "adapter", "adapter_model.safetensors");
      const base = report.arms[0].seeds.some((x) => x.cache_key === key);
      expect(existsSync(adapter), key).toBe(!base);
    }

    // A later night: the baseline exists (here a file standing in for origin/main's), summary compares
    // and diff runs; the same results are no regression.
    const later = runJob("merge", {}, first.outputs.report);
    expect(later.log.join("\n")).toMatch(/Compared with/);
    expect(later.steps.diff.outputs.regression).toBe("false");
    expect(later.outputs.regression).toBe("false");
  });
});
