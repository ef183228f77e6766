/**
 * Gather the unit results that separate jobs wrote into their own cache directories into one cache.
 * An entry made on another device, provider, onnxruntime or engine numerics version, or from another
 * model or data selection, is refused, never mixed in; a planned unit that no directory has is an error.
 */
import { cpSync, existsSync, readdirSync, renameSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.ts";
import { readUnitResult, type UnitResult, unitDir, withCacheLock } from "./cache.ts";
import type { StudyContext, Unit } from "./plan.ts";

export async function gatherCaches(
  dirs: string[],
  { ctx, units, cacheDir }: { ctx: StudyContext; units: Unit[]; cacheDir: string },
): Promise<void> {
  const planned = new Map(units.map((u) => [u.key, u]));
  const found = new Set<string>();
  await withCacheLock(cacheDir, async () => {
    for (const dir of dirs) {
      const arms = join(dir, "arms");
      if (!existsSync(arms)) throw new UserError("not a lora-bench cache directory (no arms/ inside)", dir);
      for (const key of readdirSync(arms)) {
        if (key.endsWith(".tmp")) continue;
        const r: UnitResult | null = readUnitResult(dir, key, (m) => process.stderr.write(`${m}\n`));
        if (!r) continue;
        const armPlanned = units.some((u) => u.arm.id === r.armId);
        if (!planned.has(key)) {
          if (!armPlanned) continue;
          const why = refusal(r, ctx);
          throw new UserError(`refusing ${r.armId} seed ${r.seed}: ${why}`, join(arms, key));
        }
        if (dir !== cacheDir && !existsSync(unitDir(cacheDir, key))) {
          // Copy then rename: a merge killed mid-copy must not leave an entry whose adapter is cut short.
          const tmp = `${unitDir(cacheDir, key)}.${process.pid}.tmp`;
          cpSync(join(arms, key), tmp, { recursive: true });
          renameSync(tmp, unitDir(cacheDir, key));
        }
        found.add(key);
      }
    }
  });
  const missing = units.filter((u) => !found.has(u.key) && !readUnitResult(cacheDir, u.key));
  if (missing.length)
    throw new UserError(
      `merge: ${missing.length} planned run(s) in no directory, e.g. ${missing[0].arm.id} seed ${missing[0].seed}`,
    );
}

/** Why an entry of a planned arm has a key this plan does not hold, most telling difference first. */
function refusal(r: UnitResult, ctx: StudyContext): string {
  const rt = ctx.runtime;
  const differs: [string, string | undefined, string][] = [
    ["device", r.device, rt.device],
    ["execution provider", r.executionProvider, rt.executionProvider],
    ["onnxruntime", r.onnxruntime, rt.onnxruntime],
    ["engine", r.engine, ctx.engine],
  ];
  for (const [what, got, want] of differs)
    if (got !== want) return `${what} ${got ?? "unrecorded"} ≠ ${want}`;
  if (r.modelSha !== ctx.modelSha)
    return `model sha256 ${r.modelSha.slice(0, 12)} ≠ ${ctx.modelSha.slice(0, 12)}`;
  return "its data selection or configuration differs from this plan";
}
