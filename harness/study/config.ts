/**
 * bench.config.ts: typed, validated at load. Everything the study leaves unsaid (lora_alpha, dropout,
 * learning rate, epochs, batch size, lengths, decoding) is explicit here and recorded in every report.
 */
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { resolveQuant } from "../engine/quant/spec.ts";
import type { Device } from "../engine/session.ts";
import { UserError } from "../errors.ts";

export interface ArmConfig {
  id: string;
  label?: string;
  kind: "base" | "lora";
  r?: number;
  /** Defaults to the profile's lora.alpha. */
  alpha?: number;
  useRslora?: boolean;
  /** Training examples; defaults to the profile's data.trainN. */
  trainN?: number;
  /** Seeds for this arm; defaults to the profile's seeds. */
  seeds?: number[];
  /** Hold the base's decoder linears in 4 bits (QLoRA); defaults to the profile's quantization. */
  quantization?: QuantizationConfig;
}

/** A 4-bit base: NF4 (QLoRA's data type, blocks of 64) or int4 (MatMulNBits, blocks of 32). */
export interface QuantizationConfig {
  type: "nf4" | "int4";
  blockSize?: number;
  doubleQuant?: boolean;
}

export interface ProfileConfig {
  description: string;
  model: { source: string; revision?: string };
  dataset: { source: string; revision?: string; config: string; trainSplit: string; evalSplit: string };
  data: { trainN: number; evalN: number; subsetSeed: number };
  seeds: number[];
  prompt: { instruction: string; articleTokenBudget: number; maxTargetTokens: number };
  lora: { alpha: number; dropout: number; targetModules: string[] };
  training: {
    epochs: number;
    lr: number;
    batchSize: number;
    gradAccum: number;
    weightDecay: number;
    warmupRatio: number;
    maxGradNorm: number;
  };
  decoding: { maxNewTokens: number; batchSize: number };
  rouge: { useStemmer: boolean; bootstrapResamples: number };
  arms: readonly ArmConfig[];
  /** The N sweep (future work 1): ranks × N, arms named lora-r{r}-n{N}. */
  sweep?: { n: readonly number[]; ranks: readonly number[]; seeds?: readonly number[] };
  device: Device;
  threads?: number;
  /** The default quantization of the profile's arms (none when absent). */
  quantization?: QuantizationConfig;
}

export interface BenchConfig {
  defaultProfile: string;
  cacheDir: string;
  reportsDir: string;
  readme: string;
  profiles: Record<string, ProfileConfig>;
}

/** Keeps the literal types of `c` (arm ids above all) so that claims can be typed against them. */
export function defineConfig<const C extends BenchConfig>(c: C): C {
  return c;
}

type ProfileArmIds<P> =
  | (P extends { arms: readonly (infer A)[] }
      ? A extends { id: infer I extends string }
        ? I
        : never
      : never)
  | (P extends {
      sweep: { n: readonly (infer N extends number)[]; ranks: readonly (infer R extends number)[] };
    }
      ? `lora-r${R}-n${N}`
      : never);

/** The arm ids a config declares in any profile: its arms' and its sweep's (lora-r{r}-n{N}). */
export type ArmIdOf<C> = C extends { profiles: infer P }
  ? { [K in keyof P]: ProfileArmIds<P[K]> }[keyof P]
  : string;

// ── validation ──────────────────────────────────────────────────────────────────────────────────

type Check = (v: unknown, path: string) => void;

const num =
  (min = Number.NEGATIVE_INFINITY, max = Number.POSITIVE_INFINITY, integer = false): Check =>
  (v, p) => {
    if (typeof v !== "number" || !Number.isFinite(v)) throw new Error(`${p} must be a number`);
    if (integer && !Number.isInteger(v)) throw new Error(`${p} must be an integer`);
    if (v < min || v > max) throw new Error(`${p} must be in [${min}, ${max}], got ${v}`);
  };
const int = (min = 0, max = Number.MAX_SAFE_INTEGER) => num(min, max, true);
const str: Check = (v, p) => {
  if (typeof v !== "string" || v === "") throw new Error(`${p} must be a non-empty string`);
};
const bool: Check = (v, p) => {
  if (typeof v !== "boolean") throw new Error(`${p} must be true or false`);
};
const oneOf =
  (...xs: string[]): Check =>
  (v, p) => {
    if (!xs.includes(v as string))
      throw new Error(`${p} must be one of ${xs.map((x) => `"${x}"`).join(", ")}`);
  };
const list =
  (item: Check, nonEmpty = true): Check =>
  (v, p) => {
    if (!Array.isArray(v)) throw new Error(`${p} must be an array`);
    if (nonEmpty && v.length === 0) throw new Error(`${p} must not be empty`);
    v.forEach((x, i) => {
      item(x, `${p}[${i}]`);
    });
  };
const obj =
  (fields: Record<string, Check>, optional: string[] = []): Check =>
  (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${p} must be an object`);
    const o = v as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!(k in fields)) throw new Error(`${p}.${k} is not a known key`);
    for (const [k, check] of Object.entries(fields)) {
      if (o[k] === undefined) {
        if (!optional.includes(k)) throw new Error(`${p}.${k} is missing`);
        continue;
      }
      check(o[k], `${p}.${k}`);
    }
  };
const record =
  (item: Check): Check =>
  (v, p) => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) throw new Error(`${p} must be an object`);
    for (const [k, x] of Object.entries(v)) item(x, `${p}.${k}`);
  };

const TARGETS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

const quantCheck: Check = (v, p) => {
  obj({ type: oneOf("nf4", "int4"), blockSize: int(16, 4096), doubleQuant: bool }, [
    "blockSize",
    "doubleQuant",
  ])(v, p);
  try {
    resolveQuant(v as QuantizationConfig, p);
  } catch (e) {
    throw new Error((e as Error).message);
  }
};

const armCheck = obj(
  {
    id: (v, p) => {
      str(v, p);
      if (!/^[a-z0-9][a-z0-9.-]*$/.test(v as string))
        throw new Error(`${p} must be lowercase letters, digits, "-" or "."`);
    },
    label: str,
    kind: oneOf("base", "lora"),
    r: int(1, 4096),
    alpha: num(0),
    useRslora: bool,
    trainN: int(1),
    seeds: list(int(0)),
    quantization: quantCheck,
  },
  ["label", "r", "alpha", "useRslora", "trainN", "seeds", "quantization"],
);

const profileCheck = obj(
  {
    description: str,
    model: obj({ source: str, revision: str }, ["revision"]),
    dataset: obj({ source: str, revision: str, config: str, trainSplit: str, evalSplit: str }, ["revision"]),
    data: obj({ trainN: int(1), evalN: int(1), subsetSeed: int(0) }),
    seeds: list(int(0)),
    prompt: obj({ instruction: str, articleTokenBudget: int(1), maxTargetTokens: int(1) }),
    lora: obj({ alpha: num(0), dropout: num(0, 0.99), targetModules: list(oneOf(...TARGETS)) }),
    training: obj({
      epochs: int(1),
      lr: num(0, 1),
      batchSize: int(1),
      gradAccum: int(1),
      weightDecay: num(0, 1),
      warmupRatio: num(0, 1),
      maxGradNorm: num(0),
    }),
    decoding: obj({ maxNewTokens: int(1), batchSize: int(1) }),
    rouge: obj({ useStemmer: bool, bootstrapResamples: int(100) }),
    arms: list(armCheck),
    sweep: obj({ n: list(int(1)), ranks: list(int(1)), seeds: list(int(0)) }, ["seeds"]),
    device: oneOf("cpu", "cuda", "webgpu"),
    threads: int(0, 1024),
    quantization: quantCheck,
  },
  ["sweep", "threads", "quantization"],
);

const configCheck = obj({
  defaultProfile: str,
  cacheDir: str,
  reportsDir: str,
  readme: str,
  profiles: record(profileCheck),
});

/** Check a config object; every problem is a one-line UserError naming the file and the key. */
export function validateConfig(c: unknown, file: string): BenchConfig {
  try {
    configCheck(c, "config");
    const cfg = c as BenchConfig;
    if (!cfg.profiles[cfg.defaultProfile])
      throw new Error(`config.defaultProfile "${cfg.defaultProfile}" is not a profile`);
    for (const [name, p] of Object.entries(cfg.profiles)) {
      const ids = new Set<string>();
      for (const a of p.arms) {
        if (ids.has(a.id)) throw new Error(`config.profiles.${name}.arms: duplicate arm id "${a.id}"`);
        ids.add(a.id);
        if (a.kind === "lora" && a.r === undefined)
          throw new Error(`config.profiles.${name}.arms "${a.id}": a lora arm needs r`);
        if (a.kind === "base" && (a.r !== undefined || a.trainN !== undefined))
          throw new Error(`config.profiles.${name}.arms "${a.id}": a base arm takes no r or trainN`);
      }
    }
    return cfg;
  } catch (err) {
    throw new UserError((err as Error).message, file);
  }
}

/** Import bench.config.ts (its default export) and validate it. */
export async function loadConfig(path = "bench.config.ts"): Promise<{ config: BenchConfig; file: string }> {
  const file = resolve(path);
  if (!existsSync(file)) throw new UserError("no such config file", path);
  let mod: { default?: unknown };
  try {
    mod = await import(pathToFileURL(file).href);
  } catch (err) {
    throw new UserError(`cannot load config: ${(err as Error).message.split("\n")[0]}`, path);
  }
  if (mod.default === undefined)
    throw new UserError("config file has no default export (use `export default defineConfig({…})`)", path);
  return { config: validateConfig(mod.default, path), file };
}

export function getProfile(
  config: BenchConfig,
  name: string | undefined,
  file: string,
): ProfileConfig & { name: string } {
  const n = name ?? config.defaultProfile;
  const p = config.profiles[n];
  if (!p)
    throw new UserError(
      `--profile: no profile "${n}" (have: ${Object.keys(config.profiles).join(", ")})`,
      file,
    );
  return { ...p, name: n };
}
