/**
 * The study runner: plan → run every (arm, seed) not in the cache → study snapshot → claims (vitest).
 * harness/pipeline.ts strings these steps together with the report; the claims' standalone path uses
 * them directly.
 */
import { join, resolve } from "node:path";
import { loadLlamaCheckpoint } from "../engine/checkpoint.ts";
import { countLoraParams } from "../engine/lora.ts";
import { LlamaModel } from "../engine/model.ts";
import type { Device } from "../engine/session.ts";
import { continuationBias } from "../metrics/continuation.ts";
import { type ArmProgress, runUnit, scorePredictions } from "./arm.ts";
import { readUnitResult, type UnitResult, unitDir, withCacheLock, writeUnitResult } from "./cache.ts";
import { type BenchConfig, getProfile, loadConfig, type ProfileConfig } from "./config.ts";
import { countAdapterParams, countCheckpointParams } from "./params.ts";
import { buildContext, planUnits, resolveArms, type StudyContext, type Unit } from "./plan.ts";
import type { Metric, RunData, StudyData } from "./verdict.ts";

export interface RunOptions {
  configPath?: string;
  profile?: string;
  /** A count (seeds 1..K) or an explicit list. */
  seeds?: number | number[];
  force?: boolean;
  device?: Device;
  /** Only these arm ids (sharding: one arm per job). */
  arms?: string[];
  cacheDir?: string;
  log?: (msg: string) => void;
  progress?: (unit: Unit, p: ArmProgress) => void;
}

export interface StudyRun {
  config: BenchConfig;
  configFile: string;
  ctx: StudyContext;
  units: Unit[];
  results: Map<string, UnitResult>;
  study: StudyData;
  cacheDir: string;
  /** Seconds spent per arm in this process (0 for cache hits). */
  spent: Map<string, number>;
  ran: number;
}

export function applyOverrides(
  p: ProfileConfig & { name: string },
  o: RunOptions,
): ProfileConfig & { name: string } {
  const seeds =
    o.seeds === undefined
      ? p.seeds
      : Array.isArray(o.seeds)
        ? o.seeds
        : Array.from({ length: o.seeds }, (_, i) => i + 1);
  return { ...p, seeds, device: o.device ?? p.device };
}

/** The plan: config, profile (with overrides), study context and every (arm, seed) unit with its key. */
export async function planStudy(o: RunOptions) {
  const { config, file } = await loadConfig(o.configPath);
  const profile = applyOverrides(getProfile(config, o.profile, file), o);
  const cacheDir = resolve(o.cacheDir ?? config.cacheDir);
  const ctx = await buildContext(profile, cacheDir);
  const units = planUnits(ctx);
  return { config, configFile: file, profile, cacheDir, ctx, units };
}
export type Plan = Awaited<ReturnType<typeof planStudy>>;

export async function runArms(o: RunOptions = {}): Promise<StudyRun> {
  return runUnits(await planStudy(o), o);
}

/** Train and evaluate every planned unit the cache lacks (only `o.arms`' when given). */
export async function runUnits(plan: Plan, o: RunOptions = {}): Promise<StudyRun> {
  const log = o.log ?? (() => {});
  const { config, configFile, cacheDir, ctx, units } = plan;
  const wanted = o.arms ? units.filter((u) => o.arms!.includes(u.arm.id)) : units;
  if (o.arms) {
    const unknown = o.arms.filter((id) => !units.some((u) => u.arm.id === id));
    if (unknown.length) {
      const { UserError } = await import("../errors.ts");
      throw new UserError(
        `--arm: no arm "${unknown[0]}" in profile ${ctx.profile.name} (have: ${[...new Set(units.map((u) => u.arm.id))].join(", ")})`,
      );
    }
  }
  const results = new Map<string, UnitResult>();
  const spent = new Map<string, number>();
  let ran = 0;
  await withCacheLock(
    cacheDir,
    async () => {
      let model: LlamaModel | null = null;
      for (const u of wanted) {
        const hit = o.force ? null : readUnitResult(cacheDir, u.key, log);
        if (hit) {
          results.set(u.key, hit);
          continue;
        }
        if (!model) {
          log(`loading ${ctx.modelDir}…`);
          const ck = loadLlamaCheckpoint(ctx.modelDir);
          model = new LlamaModel(ck.config, ck.weights, {
            device: ctx.profile.device,
            threads: ctx.profile.threads,
          });
        }
        const t0 = performance.now();
        const { result, adapter } = await runUnit(ctx, model, u, (p) => o.progress?.(u, p));
        writeUnitResult(cacheDir, result, adapter);
        results.set(u.key, result);
        spent.set(u.arm.id, (spent.get(u.arm.id) ?? 0) + (performance.now() - t0) / 1000);
        ran += 1;
        if (result.status === "failed") log(`${u.arm.id} seed ${u.seed} failed: ${result.error?.reason}`);
      }
      await model?.release();
    },
    log,
  );
  // Units of other shards that are already cached still count for the study snapshot.
  for (const u of units)
    if (!results.has(u.key)) {
      const hit = readUnitResult(cacheDir, u.key, log);
      if (hit) results.set(u.key, hit);
    }
  return {
    config,
    configFile,
    ctx,
    units,
    results,
    study: studyData(ctx, units, results, cacheDir, config),
    cacheDir,
    spent,
    ran,
  };
}

/** The snapshot claims judge: per arm, per seed, per example scores and continuation flags. */
export function studyData(
  ctx: StudyContext,
  units: Unit[],
  results: Map<string, UnitResult>,
  cacheDir: string,
  config: BenchConfig,
): StudyData {
  const total = countCheckpointParams(ctx.modelDir);
  const arms = ctx.arms.map((arm) => {
    const runs: RunData[] = units
      .filter((u) => u.arm.id === arm.id && results.has(u.key))
      .map((u) => {
        const r = results.get(u.key)!;
        const ok = r.status === "ok";
        const cont = ok
          ? continuationBias(
              r.predictions.map((p, i) => ({
                prediction: p,
                article: ctx.evalSeen[i],
                instruction: ctx.profile.prompt.instruction,
              })),
            )
          : null;
        return {
          seed: u.seed,
          status: r.status,
          error: r.error,
          scores: ok ? (scorePredictions(ctx, r.predictions) as Record<Metric, number[]>) : null,
          continued: cont ? cont.examples.map((e) => e.continued) : null,
          outputTokens: r.outputTokens,
          adapterParams:
            ok && arm.kind === "lora" ? countAdapterParams(join(unitDir(cacheDir, u.key), "adapter")) : null,
        };
      });
    const trainable =
      arm.kind === "lora"
        ? countLoraParams(ctx.modelConfig, {
            r: arm.r!,
            alpha: arm.alpha!,
            dropout: 0,
            targetModules: ctx.profile.lora.targetModules,
            useRslora: arm.useRslora,
          })
        : 0;
    const { seeds: _seeds, ...rest } = arm;
    return {
      ...rest,
      trainableParams: trainable,
      runs,
    };
  });
  return {
    profile: ctx.profile.name,
    evalIds: ctx.evalSubset.ids,
    mainTrainN: ctx.profile.data.trainN,
    model: { id: ctx.modelId, config: ctx.modelConfig, params: total },
    targetModules: ctx.profile.lora.targetModules,
    arms,
    declaredArms: [
      ...new Set(Object.values(config.profiles).flatMap((p) => resolveArms(p).map((a) => a.id))),
    ],
  };
}

/** Every arm id a config declares in any of its profiles, sweep arms included. */
export function declaredArmIds(config: BenchConfig): string[] {
  return [...new Set(Object.values(config.profiles).flatMap((p) => resolveArms(p).map((a) => a.id)))];
}
