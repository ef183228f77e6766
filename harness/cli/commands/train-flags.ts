/**
 * The `train` command's flags and their translation: the optimizer and schedule options (checked
 * before any file is read) and the LoRA settings, fresh or reconciled with an `--init-adapter`.
 */
import { type LoraConfig, loadAdapter } from "../../engine/adapter-io.ts";
import { LORA_MODULES } from "../../engine/architecture.ts";
import type { LlamaConfig } from "../../engine/checkpoint.ts";
import { initLora, type LoraSettings, loraGraphSpec } from "../../engine/lora.ts";
import type { LoraTensors } from "../../engine/model.ts";
import type { TrainOptions } from "../../engine/train.ts";
import { UserError } from "../../errors.ts";
import type { Flags } from "../command.ts";
import { parseNumber } from "../flags.ts";

export const LORA_FLAGS = {
  "init-adapter": {
    type: "string",
    arg: "DIR",
    help: "start from this PEFT adapter, not a fresh init (its r, alpha, targets, rsLoRA; flags may only restate them)",
  },
  rank: { type: "string", arg: "R", help: "LoRA rank (default 8)" },
  alpha: { type: "string", arg: "A", help: "LoRA alpha (default 16)" },
  targets: { type: "string", arg: "q_proj,v_proj", help: "modules to adapt (default q_proj,v_proj)" },
  dropout: { type: "string", arg: "P", help: "LoRA dropout (default 0.05)" },
  rslora: { type: "boolean", help: "scale by alpha/sqrt(r) (rsLoRA)" },
} as const satisfies Flags;

export const OPTIMIZER_FLAGS = {
  epochs: { type: "string", arg: "N", help: "epochs (default 3)" },
  "max-steps": {
    type: "string",
    arg: "N",
    help: "optimizer steps instead of epochs; also the schedule's length (HF max_steps)",
  },
  lr: { type: "string", arg: "X", help: "peak learning rate (default 2e-4)" },
  "batch-size": { type: "string", arg: "N", help: "examples per micro-batch (default 4)" },
  "grad-accum": { type: "string", arg: "N", help: "micro-batches per optimizer step (default 1)" },
  "weight-decay": { type: "string", arg: "X", help: "AdamW decoupled weight decay (default 0)" },
  "warmup-steps": { type: "string", arg: "N", help: "linear warm-up steps (default 0)" },
  "warmup-ratio": { type: "string", arg: "X", help: "linear warm-up as a fraction of all steps, rounded up" },
  "max-grad-norm": {
    type: "string",
    arg: "X",
    help: "clip the LoRA gradients' total norm to X (default 1; 0 turns clipping off)",
  },
  "adam-beta1": { type: "string", arg: "X", help: "AdamW beta1 (default 0.9)" },
  "adam-beta2": { type: "string", arg: "X", help: "AdamW beta2 (default 0.999)" },
  "adam-eps": { type: "string", arg: "X", help: "AdamW epsilon (default 1e-8)" },
  seed: { type: "string", arg: "S", help: "seed of init, dropout and order (default 42)" },
} as const satisfies Flags;

type Raw = Record<string, string | boolean | undefined>;

const str = (v: Raw, flag: string): string | undefined => v[flag] as string | undefined;

/** A number flag that must satisfy `ok`; `what` completes "must be …". */
function num(v: Raw, flag: string, fallback: number, ok: (x: number) => boolean, what: string): number {
  const x = parseNumber(str(v, flag), flag, fallback);
  if (!ok(x)) throw new UserError(`--${flag}: "${str(v, flag)}" must be ${what}`);
  return x;
}
const posInt = (v: Raw, flag: string, d: number) =>
  num(v, flag, d, (x) => Number.isSafeInteger(x) && x >= 1, "a positive integer");
const nonNeg = (v: Raw, flag: string, d: number) => num(v, flag, d, (x) => x >= 0, "≥ 0");

/** Only one of two flags that state the same thing. */
function oneOf(v: Raw, a: string, b: string): void {
  if (v[a] !== undefined && v[b] !== undefined) throw new UserError(`--${a} and --${b}: give one of them`);
}

/** The engine's options from the flags (everything but the callbacks, seed and dropout). */
export function optimizerOptions(v: Raw): Omit<TrainOptions, "seed" | "dropout" | "onStep"> {
  oneOf(v, "max-steps", "epochs");
  oneOf(v, "warmup-steps", "warmup-ratio");
  const unit = (x: number) => x >= 0 && x < 1;
  return {
    epochs: posInt(v, "epochs", 3),
    maxSteps: v["max-steps"] === undefined ? undefined : posInt(v, "max-steps", 1),
    lr: nonNeg(v, "lr", 2e-4),
    batchSize: posInt(v, "batch-size", 4),
    gradAccum: posInt(v, "grad-accum", 1),
    weightDecay: nonNeg(v, "weight-decay", 0),
    warmupSteps:
      v["warmup-steps"] === undefined
        ? undefined
        : num(v, "warmup-steps", 0, (x) => Number.isSafeInteger(x) && x >= 0, "an integer ≥ 0"),
    warmupRatio: num(v, "warmup-ratio", 0, (x) => x >= 0 && x <= 1, "in [0, 1]"),
    maxGradNorm: nonNeg(v, "max-grad-norm", 1),
    betas: [num(v, "adam-beta1", 0.9, unit, "in [0, 1)"), num(v, "adam-beta2", 0.999, unit, "in [0, 1)")],
    eps: num(v, "adam-eps", 1e-8, (x) => x > 0, "> 0"),
  };
}

/** --targets as a sorted list of known module names. */
function parseTargets(value: string): string[] {
  const targets = [...new Set(value.split(",").map((s) => s.trim()))].sort();
  for (const t of targets)
    if (!Object.hasOwn(LORA_MODULES, t))
      throw new UserError(`--targets: "${t}" is not one of ${Object.keys(LORA_MODULES).join(", ")}`);
  return targets;
}

/**
 * The adapter training starts from and its settings. Without --init-adapter: a fresh init from the
 * seed with the flags' settings. With it: the adapter's own tensors (F64 when `float64`, so a float64
 * run starts from exactly the file's values) and its settings; --rank, --alpha, --targets and
 * --rslora may restate them but not change them, --dropout may (it is a training setting).
 */
export function startingAdapter(
  v: Raw,
  config: LlamaConfig,
  seed: number,
  float64: boolean,
): { settings: LoraSettings; lora: LoraTensors } {
  const dropoutFlag =
    v.dropout === undefined ? undefined : num(v, "dropout", 0, (x) => x >= 0 && x < 1, "in [0, 1)");
  const targets = str(v, "targets") === undefined ? undefined : parseTargets(str(v, "targets")!);
  const rank = v.rank === undefined ? undefined : posInt(v, "rank", 8);
  const alpha = v.alpha === undefined ? undefined : num(v, "alpha", 16, (x) => x > 0, "> 0");
  const rslora = v.rslora === true ? true : undefined;
  const dir = str(v, "init-adapter");
  if (dir === undefined) {
    const settings: LoraSettings = {
      r: rank ?? 8,
      alpha: alpha ?? 16,
      dropout: dropoutFlag ?? 0.05,
      targetModules: targets ?? ["q_proj", "v_proj"],
      useRslora: rslora ?? false,
    };
    const lora = initLora(config, settings, seed);
    if (float64) for (const [k, a] of lora.tensors) lora.tensors.set(k, Float64Array.from(a));
    return { settings, lora };
  }
  let init: { config: LoraConfig; tensors: Map<string, Float32Array | Float64Array> };
  try {
    init = loadAdapter(dir, config, float64 ? "F64" : "F32");
  } catch (err) {
    throw err instanceof UserError ? new UserError(err.message, "--init-adapter") : err;
  }
  const c = init.config;
  const mismatch = (what: string) => {
    throw new UserError(what, `--init-adapter ${dir}`);
  };
  if (rank !== undefined && rank !== c.r) mismatch(`rank ${c.r} but --rank ${rank}`);
  if (alpha !== undefined && alpha !== c.alpha) mismatch(`lora_alpha ${c.alpha} but --alpha ${alpha}`);
  if (targets && targets.join() !== c.targetModules.join())
    mismatch(`target modules ${c.targetModules.join(",")} but --targets ${targets.join(",")}`);
  if (rslora && !c.useRslora) mismatch("use_rslora false but --rslora");
  const settings: LoraSettings = {
    r: c.r,
    alpha: c.alpha,
    dropout: dropoutFlag ?? c.dropout,
    targetModules: c.targetModules,
    useRslora: c.useRslora,
  };
  return { settings, lora: { spec: loraGraphSpec(settings), tensors: init.tensors } };
}
