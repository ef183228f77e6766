/**
 * The study runner: plan → run every (arm, seed) not in the cache → study snapshot → claims (vitest).
 * harness/pipeline.ts strings these steps together with the report; the claims' standalone path uses
 * them directly.
 */
import { join, resolve } from "node:path";
import { countLoraParams } from "../engine/architecture.ts";
import { type LlamaModel, openLlama } from "../engine/model.ts";
import { assertQuantKernel } from "../engine/quant/kernels.ts";
import { checkQuantFits } from "../engine/quant/spec.ts";
import type { Device } from "../engine/session.ts";
import { continuationBias } from "../metrics/continuation.ts";
import { type ArmProgress, evaluateUnit, scorePredictions, type TrainedUnit, trainUnit } from "./arm.ts";
import { readUnitResult, type UnitResult, unitDir, withCacheLock, writeUnitResult } from "./cache.ts";
import { type BenchConfig, getProfile, loadConfig, type ProfileConfig } from "./config.ts";
import { countAdapterParams, countCheckpointParams } from "./params.ts";
import { type PhaseFigures, phase } from "./phase.ts";
import {
  buildContext,
  planUnits,
  resolveArms,
  type StudyContext,
  type Unit,
  withMemoryPlan,
} from "./plan.ts";
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
  /** Memory budget in bytes (default: 15 GiB on cuda, 80% of RAM otherwise); see memory-plan.ts. */
  memoryBudget?: number;
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
  const ctx = withMemoryPlan(await buildContext(profile, cacheDir), o.memoryBudget);
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
      const todo = wanted.filter((u) => {
        const hit = o.force ? null : readUnitResult(cacheDir, u.key, log);
        if (hit) results.set(u.key, hit);
        return !hit;
      });
      if (!todo.length) return;
      log(`loading ${ctx.modelDir}…`);
      // The device's weight storage (float16 on CUDA), and one weight-holding session at a time:
      // opening the decode session releases the loss session.
      const opts = { device: ctx.profile.device, threads: ctx.profile.threads, oneSession: true };
      // Quantized arms: the block must divide every decoder row and the device must have the kernel.
      for (const arm of ctx.arms) {
        const q = arm.quantization;
        if (!q || !todo.some((u) => u.arm.id === arm.id)) continue;
        checkQuantFits(q, ctx.modelConfig, `arm ${arm.id}: quantization`);
        if (q.type === "int4") await assertQuantKernel("MatMulNBits", opts.device, `arm ${arm.id}`);
      }
      // The float model is opened once, for the first float arm, and serves every float arm; each
      // 4-bit arm loads the base in float32 and quantizes its linears into a model of its own. A model
      // that is done goes with its weight files, so at most one holds weights at a time.
      let floatModel: LlamaModel | undefined;
      for (const arm of ctx.arms) {
        const mine = todo.filter((u) => u.arm.id === arm.id);
        if (!mine.length) continue;
        let model: LlamaModel;
        if (arm.quantization) {
          await floatModel?.release();
          model = openLlama(ctx.modelDir, { ...opts, storage: "float32", quant: arm.quantization }).model;
        } else {
          floatModel ??= openLlama(ctx.modelDir, opts).model;
          model = floatModel;
        }
        const t0 = performance.now();
        // Phase 1: train every unit of the arm (adapters are megabytes; they wait in memory).
        let trainFig: PhaseFigures | null = null;
        const trained: TrainedUnit[] = [];
        if (arm.kind === "lora")
          await phase(
            async () => {
              for (const u of mine) trained.push(await trainUnit(ctx, model, u, (p) => o.progress?.(u, p)));
              await model.release("loss");
            },
            (f) => {
              trainFig = f;
            },
          );
        else for (const u of mine) trained.push({ unit: u, train: null });
        // Phase 2: decode them, then publish each result.
        const finished: { result: UnitResult; adapter?: (dir: string) => void }[] = [];
        let decodeFig: PhaseFigures | null = null;
        await phase(
          async () => {
            for (const t of trained)
              finished.push(await evaluateUnit(ctx, model, t, (p) => o.progress?.(t.unit, p)));
            await model.release();
          },
          (f) => {
            decodeFig = f;
          },
        );
        for (const { result, adapter } of finished) {
          const withPhases = { ...result, phases: { train: trainFig, decode: decodeFig } };
          writeUnitResult(cacheDir, withPhases, adapter);
          results.set(result.key, withPhases);
          ran += 1;
          if (result.status === "failed")
            log(`${arm.id} seed ${result.seed} failed: ${result.error?.reason}`);
        }
        if (arm.quantization) await model.dispose();
        spent.set(arm.id, (performance.now() - t0) / 1000);
        log(`${arm.id}: ${phaseLine("train", trainFig)}; ${phaseLine("decode", decodeFig)}`);
      }
      await floatModel?.dispose();
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
        ? countLoraParams(ctx.modelConfig, { r: arm.r!, targetModules: ctx.profile.lora.targetModules })
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

function phaseLine(name: string, f: PhaseFigures | null): string {
  if (!f) return `no ${name} phase`;
  return `${name} ${f.seconds.toFixed(1)} s, peak RSS ${(f.peakRssBytes / 2 ** 30).toFixed(2)} GiB`;
}
