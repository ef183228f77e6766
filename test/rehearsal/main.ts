/**
 * `npm run rehearsal`: the nightly's pipeline for the tinyllama profile, on the CPU, end to end —
 * plan → one process per arm → merge → report — as the GPU runner would run it, at TinyLlama's real
 * shapes. The model is a random checkpoint with TinyLlama-1.1B's shapes in BF16 safetensors and the
 * Hub's file layout, and the data a few CNN/DailyMail-format records (several synthetic articles
 * joined, so that the profile's 512-token article budget binds); both are served by the local Hub
 * imitation under the profile's own repository ids. The profile keeps its batch size, sequence
 * budgets, LoRA and training settings; only train N = 4, eval N = 2, one seed, 16 new tokens, no N
 * sweep (its N reach 1,000) and the cpu device differ. Prints each phase's wall time and peak RSS
 * (each process's, from /usr/bin/time and the runner's own phase figures), and the arms' train/decode
 * phase lines. Hours of compute
 * shrink to about half an hour on two cores; needs ~16 GB of RAM at its peak.
 */
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { readParquet, writeParquet } from "../../harness/data/parquet.ts";
import type { NewsRecord } from "../../harness/data/records.ts";
import { ROOT } from "../cli-helpers.ts";
import { type FakeRepo, type OnDisk, startFakeHub } from "../data/hub-server.ts";

// --quick: the same pipeline on a 4-layer model of TinyLlama's widths, to check the wiring in minutes.
// --plan-only: stop after the cpu and cuda plans (no weights are loaded: a few hundred MB of RAM).
const QUICK = process.argv.includes("--quick");
const PLAN_ONLY = process.argv.includes("--plan-only");
const WORK = join(ROOT, ".cache", QUICK ? "rehearsal-quick" : PLAN_ONLY ? "rehearsal-plan" : "rehearsal");
// The generated checkpoint is shared by the full and plan-only modes (it is only read).
const MODEL = join(ROOT, ".cache", QUICK ? "rehearsal-quick" : "rehearsal", "model");
const MODEL_ID = "TinyLlama/TinyLlama-1.1B-Chat-v1.0";
const DATASET_ID = "abisee/cnn_dailymail";
const GiB = 2 ** 30;

interface Figures {
  phase: string;
  seconds: number;
  peakRss: number;
  notes: string[];
}
const table: Figures[] = [];

/** Run a command as one phase under /usr/bin/time; its wall time and peak RSS go into the table. */
function timed(phase: string, cmd: string[], env: NodeJS.ProcessEnv = {}): string {
  const stats = join(WORK, "time.txt");
  const t0 = performance.now();
  const r = spawnSync("/usr/bin/time", ["-f", "%M", "-o", stats, ...cmd], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    maxBuffer: 1 << 28,
  });
  const seconds = (performance.now() - t0) / 1000;
  const kb = Number(readFileSync(stats, "utf8").trim().split("\n").at(-1));
  // The runner logs each arm's phases ("lora-r8: train … s, peak RSS … GiB; decode …").
  const notes = (r.stderr ?? "").split(/[\r\n]/).filter((l) => /: (train|no train) .*decode/.test(l));
  // The runner resets the kernel's high-water mark at each phase, which getrusage (so /usr/bin/time)
  // reads too: the process's peak is the larger of that and the phases' own peaks.
  const phasePeaks = notes.flatMap((l) =>
    [...l.matchAll(/peak RSS ([\d.]+) GiB/g)].map((m) => Number(m[1]) * GiB),
  );
  const peakRss = Math.max(kb * 1024, ...phasePeaks);
  table.push({ phase, seconds, peakRss, notes: [...new Set(notes.map((l) => l.trim()))] });
  process.stderr.write(`${phase}: ${seconds.toFixed(1)} s, peak RSS ${(peakRss / GiB).toFixed(2)} GiB\n`);
  if (r.status !== 0) {
    process.stderr.write(r.stderr ?? "");
    throw new Error(`rehearsal: ${phase} exited with ${r.status}`);
  }
  return r.stdout;
}

/** CNN/DailyMail-format records: `per` synthetic articles joined into one, highlights likewise. */
async function records(split: string, n: number, per: number): Promise<NewsRecord[]> {
  const src = join(ROOT, "fixtures/data/synthetic-news/3.0.0", `${split}-00000-of-00001.parquet`);
  const all = await readParquet(src);
  return Array.from({ length: n }, (_, i) => {
    const part = all.slice(i * per, (i + 1) * per);
    return {
      id: part.map((r) => r.id).join("-"),
      article: part.map((r) => r.article).join("\n\n"),
      highlights: part.map((r) => r.highlights).join("\n"),
    };
  });
}

function filesUnder(dir: string, prefix = ""): Record<string, OnDisk> {
  const out: Record<string, OnDisk> = {};
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) Object.assign(out, filesUnder(join(dir, e.name), rel));
    else out[rel] = { path: join(dir, e.name) };
  }
  return out;
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const tsx = [process.execPath, join(ROOT, "node_modules/tsx/dist/cli.mjs")];
  const cli = [process.execPath, join(ROOT, "bin/lora-bench.js")];
  if (!existsSync(join(MODEL, "model.safetensors")))
    timed(`checkpoint (random ${QUICK ? "quick" : "TinyLlama"} shapes, BF16)`, [
      ...tsx,
      "test/rehearsal/checkpoint.ts",
      MODEL,
      ...(QUICK ? ["--quick"] : []),
    ]);

  const data = join(WORK, "dataset");
  rmSync(data, { recursive: true, force: true });
  for (const [split, n] of [
    ["train", 6],
    ["validation", 2],
    ["test", 4],
  ] as const)
    writeParquet(join(data, "3.0.0", `${split}-00000-of-00001.parquet`), await records(split, n, 4));

  for (const d of ["hf", "jobs", "merged", "reports"])
    rmSync(join(WORK, d), { recursive: true, force: true });
  const readme = join(WORK, "README.md");
  writeFileSync(readme, readFileSync(join(ROOT, "README.md")));
  const config = join(WORK, "bench.config.mts");
  writeFileSync(
    config,
    `import base from ${JSON.stringify(join(ROOT, "bench.config.ts"))};
import { defineConfig } from ${JSON.stringify(join(ROOT, "harness/study/config.ts"))};
const t = base.profiles.tinyllama;
export default defineConfig({
  defaultProfile: "tinyllama",
  cacheDir: ${JSON.stringify(join(WORK, "cache"))},
  reportsDir: ${JSON.stringify(join(WORK, "reports"))},
  readme: ${JSON.stringify(readme)},
  profiles: {
    tinyllama: {
      ...t,
      data: { ...t.data, trainN: 4, evalN: 2 },
      seeds: [1],
      decoding: { ...t.decoding, maxNewTokens: 16 },
      sweep: undefined,
      device: "cpu",
    },
  },
});
`,
  );

  const commit = "a".repeat(40);
  const repos: FakeRepo[] = [
    { type: "model", id: MODEL_ID, commits: { [commit]: filesUnder(MODEL) }, refs: { main: commit } },
    { type: "dataset", id: DATASET_ID, commits: { [commit]: filesUnder(data) }, refs: { main: commit } },
  ];
  const hub = await startFakeHub(repos);
  const env = { HF_ENDPOINT: hub.endpoint, HF_HOME: join(WORK, "hf"), HF_TOKEN: "" };
  const common = ["--config", config, "--profile", "tinyllama"];
  // Asynchronous: the Hub imitation answers from this process while the child downloads.
  const planJson = await new Promise<string>((done, fail) => {
    const stats = join(WORK, "time.txt");
    const t0 = performance.now();
    const child = execFileAsync(
      ["/usr/bin/time", "-f", "%M", "-o", stats, ...cli, "plan", ...common, "--json"],
      env,
    );
    child.then((out) => {
      const kb = Number(readFileSync(stats, "utf8").trim().split("\n").at(-1));
      const seconds = (performance.now() - t0) / 1000;
      table.push({
        phase: "plan (downloads model + data from the Hub imitation)",
        seconds,
        peakRss: kb * 1024,
        notes: [],
      });
      done(out);
    }, fail);
  });
  await hub.close();
  repos.length = 0;
  const plan = JSON.parse(planJson);
  const offline = { ...env, HF_HUB_OFFLINE: "1" };
  const cudaPlan = JSON.parse(
    timed("plan --device cuda", [...cli, "plan", ...common, "--device", "cuda", "--json"], offline),
  );
  if (PLAN_ONLY) {
    process.stdout.write(`${JSON.stringify({ cpu: plan.memory, cuda: cudaPlan.memory }, null, 2)}\n`);
    return;
  }
  for (const a of plan.arms as { id: string }[])
    timed(
      `arm ${a.id}`,
      [...cli, "run", ...common, "--arm", a.id, "--cache", join(WORK, "jobs", a.id)],
      offline,
    );
  const jobs = (plan.arms as { id: string }[]).map((a) => join(WORK, "jobs", a.id));
  timed("merge → report", [...cli, "merge", ...jobs, ...common, "--cache", join(WORK, "merged")], offline);
  const report = JSON.parse(readFileSync(join(WORK, "reports", "latest-tinyllama.json"), "utf8"));

  const out = process.stdout;
  out.write(
    `\nrehearsal of the tinyllama profile on ${os.cpus().length} cores, ${(os.totalmem() / GiB).toFixed(0)} GiB\n`,
  );
  out.write(`memory plan (cpu): ${JSON.stringify(plan.memory)}\n`);
  out.write(`memory plan (cuda): ${JSON.stringify(cudaPlan.memory)}\n`);
  out.write(`${"phase".padEnd(56)} ${"wall s".padStart(8)} ${"peak RSS GiB".padStart(13)}\n`);
  for (const f of table) {
    out.write(
      `${f.phase.padEnd(56)} ${f.seconds.toFixed(1).padStart(8)} ${(f.peakRss / GiB).toFixed(2).padStart(13)}\n`,
    );
    for (const n of f.notes) out.write(`    ${n}\n`);
  }
  out.write(
    `report: ${report.arms.length} arms, ${report.claims.length} claims, threads ${report.provenance.threads}\n`,
  );
  const peak = Math.max(...table.map((f) => f.peakRss));
  out.write(
    `largest process peak ${(peak / GiB).toFixed(2)} GiB of ${(os.totalmem() / GiB).toFixed(0)} GiB\n`,
  );
}

function execFileAsync(cmd: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((done, fail) => {
    execFile(
      cmd[0],
      cmd.slice(1),
      { cwd: ROOT, env: { ...process.env, ...env }, maxBuffer: 1 << 28 },
      (err, stdout, stderr) => {
        if (err) fail(new Error(`rehearsal: ${cmd.slice(3).join(" ")}: ${stderr.trim().split("\n").at(-1)}`));
        else done(stdout);
      },
    );
  });
}

main().catch((err: Error) => {
  process.stderr.write(`${err.message}\n`);
  process.exit(1);
});
