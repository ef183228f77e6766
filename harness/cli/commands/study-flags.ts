/** Flags shared by the commands that plan a study (run, plan, merge), and their translation. */
import { existsSync } from "node:fs";
import { parseDevice } from "../../engine/session.ts";
import { UserError } from "../../errors.ts";
import { parseBytes } from "../../study/memory-plan.ts";
import type { RunOptions } from "../../study/runner.ts";
import { DEVICE_FLAG, type Flags, JSON_FLAG, type Values } from "../command.ts";
import { progressLine } from "../progress.ts";

export const STUDY_FLAGS = {
  profile: { type: "string", arg: "P", help: "profile of bench.config.ts (default: its defaultProfile)" },
  seeds: { type: "string", arg: "K|a,b,c", help: "seed count (1..K) or an explicit list" },
  config: { type: "string", arg: "FILE", help: "config file (default bench.config.ts)" },
  cache: { type: "string", arg: "DIR", help: "cache directory (default: the config's cacheDir)" },
  "memory-budget": {
    type: "string",
    arg: "SIZE",
    help: "memory the run may use, e.g. 15GiB (default: 15GiB on cuda, 80% of RAM otherwise)",
  },
  ...DEVICE_FLAG,
  ...JSON_FLAG,
} as const satisfies Flags;

/** Flags of the commands that go on to claims and a report (run, merge). */
export const REPORT_FLAGS = {
  filter: { type: "string", arg: "RE", help: "only the claims whose name matches RE" },
  strict: { type: "boolean", help: "exit 1 when a claim fails" },
  verbose: { type: "boolean", help: "show vitest's own output for the claims" },
} as const satisfies Flags;

export function parseSeeds(v: string | undefined): number | number[] | undefined {
  if (v === undefined) return undefined;
  if (/^\d+$/.test(v) && Number(v) > 0) return Number(v);
  const xs = v.split(",").map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isInteger(x) || x < 0))
    throw new UserError(`--seeds: "${v}" is neither a count nor a comma-separated list of seeds`);
  return xs;
}

export function runOptions(values: Values<typeof STUDY_FLAGS> & { force?: boolean }): RunOptions {
  const config = values.config;
  if (config !== undefined && !existsSync(config)) throw new UserError("no such config file", config);
  return {
    configPath: config,
    profile: values.profile,
    seeds: parseSeeds(values.seeds),
    device: values.device === undefined ? undefined : parseDevice(values.device),
    force: values.force,
    cacheDir: values.cache,
    memoryBudget: values["memory-budget"] === undefined ? undefined : parseBytes(values["memory-budget"]),
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
