/**
 * `lora-bench merge DIR… [--profile P] [--seeds …] [--json] [--filter RE]` — gather the arm results
 * that separate jobs wrote into their own cache directories, then judge the claims and write the
 * report as a single run would. An entry made by another engine version or from another model or
 * data selection is refused, never mixed in; a planned arm that no directory has is an error.
 */
import { cpSync, existsSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { parseFlags } from "../../args.ts";
import { UserError } from "../../errors.ts";
import { finishStudy } from "../../report/finish.ts";
import { type ArmResult, entryDir, readEntry, withCacheLock } from "../cache.ts";
import { prepare, runArms } from "../runner.ts";
import { RUN_FLAGS, runOptions } from "./run.ts";

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseFlags(argv, RUN_FLAGS, "merge");
  if (positionals.length === 0) throw new UserError("merge: give one or more cache directories to merge");
  const t0 = performance.now();
  const o = runOptions(values);
  const { ctx, units, cacheDir } = await prepare(o);
  const planned = new Map(units.map((u) => [u.key, u]));
  const found = new Set<string>();
  await withCacheLock(cacheDir, async () => {
    for (const dir of positionals) {
      const arms = join(dir, "arms");
      if (!existsSync(arms)) throw new UserError("not a lora-bench cache directory (no arms/ inside)", dir);
      for (const key of readdirSync(arms)) {
        if (key.endsWith(".tmp")) continue;
        const r: ArmResult | null = readEntry(dir, key, (m) => process.stderr.write(`${m}\n`));
        if (!r) continue;
        const armPlanned = units.some((u) => u.arm.id === r.armId);
        if (!planned.has(key)) {
          if (!armPlanned) continue;
          const why =
            r.engine !== ctx.engine
              ? `engine ${r.engine} ≠ ${ctx.engine}`
              : r.modelSha !== ctx.modelSha
                ? `model sha256 ${r.modelSha.slice(0, 12)} ≠ ${ctx.modelSha.slice(0, 12)}`
                : "its data selection or configuration differs from this plan";
          throw new UserError(`refusing ${r.armId} seed ${r.seed}: ${why}`, join(arms, key));
        }
        if (dir !== cacheDir && !existsSync(entryDir(cacheDir, key))) {
          // Copy then rename: a merge killed mid-copy must not leave an entry whose adapter is cut short.
          const tmp = `${entryDir(cacheDir, key)}.${process.pid}.tmp`;
          cpSync(join(arms, key), tmp, { recursive: true });
          renameSync(tmp, entryDir(cacheDir, key));
        }
        found.add(key);
      }
    }
  });
  const missing = units.filter((u) => !found.has(u.key) && !readEntry(cacheDir, u.key));
  if (missing.length)
    throw new UserError(
      `merge: ${missing.length} planned run(s) in no directory, e.g. ${missing[0].arm.id} seed ${missing[0].seed}`,
    );
  const res = await runArms({ ...o, log: () => {} });
  return finishStudy(res, {
    t0,
    filter: values.filter as string | undefined,
    json: Boolean(values.json),
    strict: Boolean(values.strict),
  });
}
