/**
 * `lora-bench run [--profile P] [--seeds K|a,b,c] [--filter RE] [--device cpu|cuda] [--json] [--force]
 *   [--arm ID …] [--config FILE] [--cache DIR] [--strict]` — the study end to end: arms (cached),
 * claims, report, chart, README. With --arm it runs only those arms into the cache (a matrix job)
 * and stops there; `lora-bench merge` assembles the report.
 */
import { existsSync } from "node:fs";
import { parseFlags } from "../../args.ts";
import { progressLine } from "../../engine/commands/progress.ts";
import { parseDevice } from "../../engine/session.ts";
import { UserError } from "../../errors.ts";
import { finishStudy } from "../../report/finish.ts";
import { type RunOptions, runArms } from "../runner.ts";

export function parseSeeds(v: string | undefined): number | number[] | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v) && Number(v) > 0) return Number(v);
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 0))
    throw new UserError(`--seeds: "${v}" is neither a count nor a comma-separated list of seeds`);
  return xs;
}

export const RUN_FLAGS = {
  profile: { type: "string" },
  seeds: { type: "string" },
  filter: { type: "string" },
  device: { type: "string" },
  json: { type: "boolean" },
  force: { type: "boolean" },
  arm: { type: "string", multiple: true },
  config: { type: "string" },
  cache: { type: "string" },
  strict: { type: "boolean" },
  verbose: { type: "boolean" },
} as const;

export function runOptions(values: Record<string, unknown>): RunOptions {
  const config = values.config as string | undefined;
  if (config !== undefined && !existsSync(config)) throw new UserError("no such config file", config);
  return {
    configPath: config,
    profile: values.profile as string | undefined,
    seeds: parseSeeds(values.seeds as string | undefined),
    device: values.device === undefined ? undefined : parseDevice(values.device as string),
    force: values.force as boolean | undefined,
    cacheDir: values.cache as string | undefined,
    log: (m) => progressLine.done(m),
    progress: (u, p) => {
      const what = `${u.arm.id} seed ${u.seed}`;
      const loss = p.loss !== undefined ? `  loss ${p.loss.toFixed(3)}` : "";
      progressLine(`[${what}] ${p.phase} ${p.done}/${p.total}${loss}`, {
        tokensPerS: p.tokensPerS,
        etaS: p.etaS,
      });
    },
  };
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, RUN_FLAGS, "run");
  const t0 = performance.now();
  const opts = runOptions(values);
  const arms = values.arm as string[] | undefined;
  const res = await runArms({ ...opts, arms });
  if (arms) {
    const mine = res.units.filter((u) => arms.includes(u.arm.id));
    const out = mine.map((u) => ({
      arm: u.arm.id,
      seed: u.seed,
      key: u.key,
      status: res.results.get(u.key)?.status ?? "missing",
    }));
    if (values.json) process.stdout.write(`${JSON.stringify({ cache: res.cacheDir, units: out })}\n`);
    else
      progressLine.done(
        `ran ${res.ran} of ${mine.length} unit(s) of ${arms.join(", ")} into ${res.cacheDir}`,
      );
    return 0;
  }
  return finishStudy(res, {
    t0,
    filter: values.filter as string | undefined,
    json: Boolean(values.json),
    strict: Boolean(values.strict),
    verbose: Boolean(values.verbose),
  });
}
