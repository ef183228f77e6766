/**
 * What a study run works on, resolved once: the model directory (local or from the Hub cache) with
 * its sha256, the tokenizer, the seeded train/eval subsets, the prompts. The arms' plan and their
 * content-addressed cache keys follow from it.
 */
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { loadSplit, looksLikeHubId } from "../data/load.ts";
import {
  buildSummaryPrompt,
  buildTrainingExample,
  type SummaryPrompt,
  truncateToTokens,
} from "../data/prompt.ts";
import type { NewsRecord } from "../data/records.ts";
import { EVAL_STREAM, type Subset, selectSubset, TRAIN_STREAM } from "../data/subset.ts";
import { loadTokenizer, type Tok } from "../data/tokenizer.ts";
import { type LlamaConfig, parseLlamaConfig, sha256OfFiles } from "../engine/checkpoint.ts";
import { resolveQuant } from "../engine/quant/spec.ts";
import type { QuantSpec } from "../engine/quant/types.ts";
import type { TrainExample } from "../engine/train.ts";
import { engineVersion, type RuntimeIdentity, runtimeIdentity } from "../engine/version.ts";
import { UserError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import type { ArmConfig, ProfileConfig, QuantizationConfig } from "./config.ts";
import { type MemoryPlan, planMemory } from "./memory-plan.ts";

export interface ResolvedArm {
  id: string;
  label: string;
  kind: "base" | "lora";
  r: number | null;
  alpha: number | null;
  useRslora: boolean;
  trainN: number;
  seeds: number[];
  /** Part of the sweep rather than the main table. */
  sweep: boolean;
  /** 4-bit base (QLoRA), or null for the float base. */
  quantization?: QuantSpec | null;
}

export function armLabel(
  a: Pick<ResolvedArm, "kind" | "r" | "useRslora" | "trainN"> & { quantization?: QuantSpec | null },
  mainN: number,
): string {
  const q = a.quantization ? ` (${a.quantization.type.toUpperCase()})` : "";
  if (a.kind === "base") return `Base (zero-shot)${q}`;
  const name = a.quantization ? "QLoRA" : "LoRA";
  return `${name} r=${a.r}${a.useRslora ? " (rsLoRA)" : ""}${q}${a.trainN !== mainN ? `, N=${a.trainN}` : ""}`;
}

/** The profile's arms, then the N sweep's (an N=main point reuses the main arm). */
export function resolveArms(p: ProfileConfig): ResolvedArm[] {
  const quant = (q: QuantizationConfig | undefined, id: string) =>
    q ? resolveQuant(q, `arm ${id}: quantization`) : null;
  const mk = (a: ArmConfig, sweep = false): ResolvedArm => {
    const base = a.kind === "base";
    const arm = {
      id: a.id,
      label: "",
      kind: a.kind,
      r: base ? null : a.r!,
      alpha: base ? null : (a.alpha ?? p.lora.alpha),
      useRslora: base ? false : (a.useRslora ?? false),
      trainN: base ? 0 : (a.trainN ?? p.data.trainN),
      seeds: base ? [p.seeds[0]] : (a.seeds ?? p.seeds),
      sweep,
      quantization: quant(a.quantization ?? p.quantization, a.id),
    };
    return { ...arm, label: a.label ?? armLabel(arm, p.data.trainN) };
  };
  const arms = p.arms.map((a) => mk(a));
  for (const n of p.sweep?.n ?? []) {
    for (const r of p.sweep!.ranks) {
      const same = arms.find(
        (a) =>
          a.kind === "lora" && a.r === r && !a.useRslora && a.trainN === n && !a.sweep && !a.quantization,
      );
      if (same) continue;
      arms.push(
        mk(
          {
            id: `lora-r${r}-n${n}`,
            kind: "lora",
            r,
            trainN: n,
            seeds: p.sweep!.seeds && [...p.sweep!.seeds],
          },
          true,
        ),
      );
    }
  }
  return arms;
}

export interface StudyContext {
  profile: ProfileConfig & { name: string };
  modelDir: string;
  modelId: string;
  modelRevision: string | null;
  modelSha: string;
  modelConfig: LlamaConfig;
  tok: Tok;
  datasetId: string;
  datasetRevision: string | null;
  trainSplit: NewsRecord[];
  evalSubset: Subset;
  evalPrompts: SummaryPrompt[];
  /** Each evaluation article as the model saw it (after truncation to the token budget). */
  evalSeen: string[];
  arms: ResolvedArm[];
  /** The engine's numerics version (engine/version.ts). */
  engine: string;
  /** Device, execution provider and onnxruntime version the units run on. */
  runtime: RuntimeIdentity;
  /** How training bounds its activation memory (micro-batch rows, layer recomputation). */
  trainMemory: { microBatch?: number; checkpointing?: boolean };
  /** The memory plan (set by withMemoryPlan before the units are planned; their keys hold its choices). */
  memory: MemoryPlan | null;
  trainSubset(n: number): Subset;
  trainingExamples(n: number): TrainExample[];
}

async function resolveModel(p: ProfileConfig): Promise<{ dir: string; revision: string | null }> {
  const src = p.model.source;
  if (existsSync(src)) return { dir: resolve(src), revision: null };
  if (!looksLikeHubId(src))
    throw new UserError("model source is neither a directory nor a Hub model id", src);
  const { resolveHubRepo, stderrBar } = await import("../data/hub.ts");
  const snap = await resolveHubRepo({
    repo: src,
    type: "model",
    revision: p.model.revision,
    files: (f) =>
      /^(config\.json|generation_config\.json|tokenizer.*|special_tokens_map\.json|model.*\.safetensors(\.index\.json)?)$/.test(
        f,
      ),
    onProgress: process.stderr.isTTY ? stderrBar() : undefined,
  });
  return { dir: snap.dir, revision: snap.commit };
}

/** Model provenance: config, tokenizer and weight files, hashed together. */
function modelFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) =>
      /^(config\.json|tokenizer\.json|tokenizer_config\.json|.*\.safetensors|model\.safetensors\.index\.json)$/.test(
        f,
      ),
    )
    .sort()
    .map((f) => join(dir, f));
}

/** sha256 of the model's files; cached by (path, size, mtime) because TinyLlama is 2.2 GB. */
function modelSha(dir: string, cacheDir: string): string {
  const files = modelFiles(dir);
  const stamp = files.map((f) => `${f}:${statSync(f).size}:${statSync(f).mtimeMs}`).join("|");
  const memo = join(cacheDir, "sha", `${createHash("sha256").update(stamp).digest("hex")}.txt`);
  if (existsSync(memo)) return readFileSync(memo, "utf8").trim();
  const sha = sha256OfFiles(files);
  writeFileAtomic(memo, `${sha}\n`);
  return sha;
}

export async function buildContext(
  profile: ProfileConfig & { name: string },
  cacheDir: string,
): Promise<StudyContext> {
  const { dir, revision } = await resolveModel(profile);
  const cfgPath = join(dir, "config.json");
  if (!existsSync(cfgPath)) throw new UserError("no config.json in model directory", dir);
  let cfgJson: unknown;
  try {
    cfgJson = JSON.parse(readFileSync(cfgPath, "utf8"));
  } catch {
    throw new UserError("not valid JSON", cfgPath);
  }
  const modelConfig = parseLlamaConfig(cfgJson, cfgPath);
  const tok = await loadTokenizer(dir);
  const ds = profile.dataset;
  const opts = { config: ds.config, revision: ds.revision };
  const trainSplit = await loadSplit(ds.source, ds.trainSplit, opts);
  const evalSplit = await loadSplit(ds.source, ds.evalSplit, opts);
  const seed = profile.data.subsetSeed;
  const evalSubset = selectSubset(
    evalSplit,
    profile.data.evalN,
    seed,
    EVAL_STREAM,
    `${ds.source} (${ds.evalSplit})`,
  );
  const budget = {
    instruction: profile.prompt.instruction,
    articleTokenBudget: profile.prompt.articleTokenBudget,
  };
  const evalPrompts = evalSubset.records.map((r) => buildSummaryPrompt(tok, r.article, budget));
  const subsets = new Map<number, Subset>();
  const trainSubset = (n: number) => {
    // One seeded permutation prefix: the N=100 subset is inside the N=250 one, as a sweep should be.
    let s = subsets.get(n);
    if (!s) {
      s = selectSubset(trainSplit, n, seed, TRAIN_STREAM, `${ds.source} (${ds.trainSplit})`);
      subsets.set(n, s);
    }
    return s;
  };
  const examples = new Map<number, TrainExample[]>();
  const trainingExamples = (n: number) => {
    let e = examples.get(n);
    if (!e) {
      e = trainSubset(n).records.map((r) => {
        const ex = buildTrainingExample(tok, r, budget);
        const keep = ex.promptLength + profile.prompt.maxTargetTokens;
        return { inputIds: ex.inputIds.slice(0, keep), labels: ex.labels.slice(0, keep) };
      });
      examples.set(n, e);
    }
    return e;
  };
  return {
    profile,
    modelDir: dir,
    modelId: profile.model.source,
    modelRevision: revision,
    modelSha: modelSha(dir, cacheDir),
    modelConfig,
    tok,
    datasetId: ds.source,
    datasetRevision: ds.revision ?? null,
    trainSplit,
    evalSubset,
    evalPrompts,
    evalSeen: evalSubset.records.map((r) => truncateToTokens(tok, r.article, budget.articleTokenBudget).text),
    arms: resolveArms(profile),
    engine: engineVersion(),
    runtime: runtimeIdentity(profile.device),
    trainMemory: {},
    memory: null,
    trainSubset,
    trainingExamples,
  };
}

/**
 * Plan the run's memory under `budget` bytes (default: the device's) from the longest training row of
 * any arm and the longest evaluation prompt, and make training and decoding use the plan's choices.
 */
export function withMemoryPlan(ctx: StudyContext, budget?: number): StudyContext {
  const p = ctx.profile;
  const loraArms = ctx.arms.filter((a) => a.kind === "lora");
  const rows = loraArms.flatMap((a) => ctx.trainingExamples(a.trainN));
  const memory = planMemory({
    config: ctx.modelConfig,
    device: p.device,
    budget,
    batchSize: p.training.batchSize,
    gradAccum: p.training.gradAccum,
    trainSeqLen: Math.max(1, ...rows.map((e) => e.inputIds.length)),
    labelsPerRow: Math.max(1, ...rows.map((e) => e.labels.filter((l) => l !== -100).length)),
    lora: {
      r: Math.max(1, ...loraArms.map((a) => a.r ?? 1)),
      targets: p.lora.targetModules,
      dropout: p.lora.dropout > 0,
    },
    decodeBatch: Math.min(p.decoding.batchSize, Math.max(1, ctx.evalPrompts.length)),
    promptLen: Math.max(1, ...ctx.evalPrompts.map((q) => q.promptIds.length)),
    newTokens: p.decoding.maxNewTokens,
    quant: sameQuant(ctx.arms),
  });
  return {
    ...ctx,
    memory,
    trainMemory: { microBatch: memory.train.micro_batch, checkpointing: memory.train.checkpointing },
  };
}

/** The 4-bit base every arm runs on, if they all share one (else the float arms bound the peak). */
function sameQuant(arms: ResolvedArm[]): QuantSpec | undefined {
  const first = arms[0]?.quantization;
  if (!first) return undefined;
  return arms.every((a) => JSON.stringify(a.quantization) === JSON.stringify(first)) ? first : undefined;
}

export interface Unit {
  arm: ResolvedArm;
  seed: number;
  key: string;
  /** Rough cost in processed tokens, for sharding and ETA. */
  cost: number;
}

/** Every (arm, seed) run with its content-addressed key. */
export function planUnits(ctx: StudyContext): Unit[] {
  const p = ctx.profile;
  const common = {
    engine: ctx.engine,
    // A result is only reused on the device, provider and onnxruntime that computed it.
    runtime: ctx.runtime,
    // Micro-batching and batched decoding agree with the unsplit run to rounding, not bit for bit.
    // (Recomputation is bit-identical, so it stays out of the key.)
    batching: {
      microBatch: ctx.trainMemory.microBatch ?? null,
      decodeBatch: ctx.memory?.decode.batch ?? null,
    },
    model: ctx.modelSha,
    eval: ctx.evalSubset.sha256,
    prompt: p.prompt,
    decoding: p.decoding,
  };
  const evalCost = ctx.evalPrompts.reduce((n, q) => n + q.promptIds.length + p.decoding.maxNewTokens, 0);
  const units: Unit[] = [];
  for (const arm of ctx.arms) {
    for (const seed of arm.seeds) {
      // Only a quantized arm's key names its quantization, so float arms keep their cached results.
      const quantization = arm.quantization ? { quantization: arm.quantization } : {};
      const material =
        arm.kind === "base"
          ? { ...common, arm: { kind: "base", ...quantization } }
          : {
              ...common,
              arm: {
                kind: "lora",
                r: arm.r,
                alpha: arm.alpha,
                useRslora: arm.useRslora,
                dropout: p.lora.dropout,
                targetModules: [...p.lora.targetModules].sort(),
                ...quantization,
              },
              training: p.training,
              train: ctx.trainSubset(arm.trainN).sha256,
              seed,
            };
      const key = createHash("sha256").update(JSON.stringify(material)).digest("hex").slice(0, 32);
      const trainCost =
        arm.kind === "lora"
          ? ctx.trainingExamples(arm.trainN).reduce((n, e) => n + e.inputIds.length, 0) * p.training.epochs
          : 0;
      units.push({ arm, seed, key, cost: evalCost + 2 * trainCost });
    }
  }
  return units;
}
