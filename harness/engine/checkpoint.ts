/**
 * Hugging Face Llama, Gemma and Gemma-2 checkpoints: config.json + model.safetensors (or sharded with an index).
 * Weights are held as Float32Array in memory whatever the file dtype (F16/BF16/F32/F64).
 */
import { createHash } from "node:crypto";
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";
import { fsError, UserError } from "../errors.ts";
import { writeFileAtomic } from "../fsutil.ts";
import { rngStream } from "../rng.ts";
import { archFeatures, FAMILIES, type LlamaDims, llamaWeightNames, type ModelType } from "./architecture.ts";
import { f32ToBf16, f32ToF16 } from "./dtype.ts";
import { type Gemma2Options, gemma2ConfigFields, parseGemma2Options } from "./gemma2.ts";
import { parseRope, type RopeScaling, ropeConfigFields } from "./rope.ts";
import {
  openSafetensors,
  type SafetensorsFile,
  type StTensorInput,
  writeSafetensors,
} from "./safetensors.ts";
import { readHalf, storedHalf, type WeightStorage } from "./storage.ts";

/** config.json as the engine reads it; the tensor-shaping dimensions are LlamaDims (architecture.ts). */
export interface LlamaConfig extends LlamaDims, Gemma2Options {
  /** The family; its arithmetic differences are archFeatures(config) (architecture.ts). */
  modelType: ModelType;
  rmsNormEps: number;
  ropeTheta: number;
  maxPositionEmbeddings: number;
  bosTokenId?: number;
  eosTokenId?: number | number[];
  torchDtype?: string;
  /** RoPE frequency scaling (`rope_scaling` in transformers 4, inside `rope_parameters` in 5). */
  ropeScaling: RopeScaling | null;
}

export interface Checkpoint {
  dir: string;
  config: LlamaConfig;
  /**
   * Every name of llamaWeightNames(config) not in `half`; with tied embeddings "lm_head.weight" is the
   * embedding array itself.
   */
  weights: Map<string, Float32Array>;
  /** With float16 storage: the weight matrices as half bits (norm vectors stay in `weights`). */
  half: Map<string, Uint16Array>;
  shapes: Map<string, number[]>;
  /** File dtype of the weights, e.g. "BF16" ("BF16+F32" when mixed). */
  sourceDtype: string;
  /** config.json, the index if any, and the safetensors files read — the provenance inputs. */
  files: string[];
}

// ---------------------------------------------------------------------------------------------
// config.json

export function parseLlamaConfig(json: unknown, file: string): LlamaConfig {
  const bad = (msg: string): never => {
    throw new UserError(msg, file);
  };
  if (json === null || typeof json !== "object" || Array.isArray(json)) bad("config is not a JSON object");
  const c = json as Record<string, unknown>;
  const types = Object.keys(FAMILIES) as ModelType[];
  if (c.model_type === undefined) bad(`missing "model_type" (expected one of ${types.join(", ")})`);
  if (!types.includes(c.model_type as ModelType)) {
    bad(
      `unsupported architecture ${JSON.stringify(c.model_type)} (model_type); lora-bench supports ${types.join(", ")}`,
    );
  }
  const modelType = c.model_type as ModelType;
  const gemma = modelType !== "llama"; // Gemma and Gemma-2 share these defaults and the activation
  const className = FAMILIES[modelType].architecture;
  if (c.architectures !== undefined && c.architectures !== null) {
    const arch = c.architectures;
    if (!Array.isArray(arch) || !arch.includes(className)) {
      bad(
        `unsupported architecture ${JSON.stringify(arch)} (architectures) for model_type "${modelType}"; lora-bench supports ${className}`,
      );
    }
  }
  const posInt = (key: string, dflt?: number): number => {
    const v = c[key] ?? dflt;
    if (v === undefined) bad(`missing "${key}"`);
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
      bad(`"${key}" must be a positive integer, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const posNum = (key: string, dflt: number): number => {
    const v = c[key] ?? dflt;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      bad(`"${key}" must be a positive number, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const hiddenSize = posInt("hidden_size");
  const numHeads = posInt("num_attention_heads");
  const numKvHeads = posInt("num_key_value_heads", numHeads);
  // GemmaConfig's head_dim defaults to 256 whatever the hidden size; Llama's to hidden / heads.
  if (!gemma && (c.head_dim === undefined || c.head_dim === null)) {
    if (hiddenSize % numHeads !== 0) {
      bad(
        `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numHeads} (and no head_dim given)`,
      );
    }
  }
  const headDim = posInt("head_dim", gemma ? 256 : hiddenSize / numHeads);
  if (numHeads % numKvHeads !== 0) {
    bad(`num_attention_heads ${numHeads} is not divisible by num_key_value_heads ${numKvHeads}`);
  }
  const rope = parseRope(c, bad);
  if (gemma) gemmaActivation(c, bad);
  else {
    const act = c.hidden_act ?? "silu";
    if (act !== "silu") bad(`hidden_act ${JSON.stringify(act)} is unsupported (Llama uses "silu")`);
  }
  if (c.use_bidirectional_attention) {
    bad(`use_bidirectional_attention ${JSON.stringify(c.use_bidirectional_attention)} is unsupported`);
  }
  // Fields transformers' Llama reads that would change the numbers; the engine does not implement them.
  // (pretraining_tp only splits the same matmuls; rope_* and partial_rotary_factor: parseRope.)
  for (const key of ["attention_bias", "mlp_bias"]) {
    if (c[key] !== undefined && c[key] !== null && c[key] !== false) {
      bad(`${key} ${JSON.stringify(c[key])} is unsupported`);
    }
  }
  if (c.attention_dropout !== undefined && c.attention_dropout !== null && c.attention_dropout !== 0) {
    bad(`attention_dropout ${JSON.stringify(c.attention_dropout)} is unsupported (only 0)`);
  }
  if (c.quantization_config !== undefined && c.quantization_config !== null) {
    bad("quantization_config is unsupported (quantized checkpoints cannot be read)");
  }
  const tie = c.tie_word_embeddings ?? gemma; // each family's config class default
  if (typeof tie !== "boolean")
    bad(`"tie_word_embeddings" must be true or false, got ${JSON.stringify(tie)}`);

  const numLayers = posInt("num_hidden_layers");
  const cfg: LlamaConfig = {
    modelType,
    hiddenSize,
    intermediateSize: posInt("intermediate_size"),
    numLayers,
    numHeads,
    numKvHeads,
    headDim,
    rmsNormEps: posNum("rms_norm_eps", 1e-6),
    ropeTheta: rope.theta,
    maxPositionEmbeddings: posInt("max_position_embeddings", gemma ? 8192 : 2048),
    vocabSize: posInt("vocab_size"),
    tieWordEmbeddings: tie as boolean,
    ropeScaling: rope.scaling,
    ...(modelType === "gemma2" ? parseGemma2Options(c, numLayers, bad) : {}),
  };
  const tokenId = (v: unknown) => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  if (tokenId(c.bos_token_id)) cfg.bosTokenId = c.bos_token_id as number;
  if (tokenId(c.eos_token_id)) cfg.eosTokenId = c.eos_token_id as number;
  else if (Array.isArray(c.eos_token_id) && c.eos_token_id.every(tokenId))
    cfg.eosTokenId = c.eos_token_id as number[];
  const dtype = c.torch_dtype ?? c.dtype; // transformers v5 renamed torch_dtype to dtype
  if (typeof dtype === "string") cfg.torchDtype = dtype;
  return cfg;
}

/**
 * Gemma's MLP activation, read as transformers 4.x did and as the released models were trained:
 * `hidden_activation`, and the tanh-approximated GELU when it is absent (google/gemma-2b's config.json
 * says `hidden_act: "gelu"` and has no `hidden_activation`). transformers 5 applies `hidden_act`
 * instead (exact GELU for that file); see docs/ARCHITECTURE.md, "Gemma".
 */
function gemmaActivation(c: Record<string, unknown>, bad: (msg: string) => never): void {
  const act = c.hidden_activation ?? "gelu_pytorch_tanh";
  // gelu_new is the same tanh formula under another name.
  if (act !== "gelu_pytorch_tanh" && act !== "gelu_new") {
    bad(
      `hidden_activation ${JSON.stringify(act)} is unsupported (lora-bench implements Gemma's gelu_pytorch_tanh)`,
    );
  }
}

/** HF config.json fields for a LlamaConfig, as transformers writes them (keys sorted). */
export function configJson(
  config: LlamaConfig,
  torchDtype: string,
  extra: Record<string, unknown> = {},
): string {
  const gemma = config.modelType !== "llama";
  // Both activation fields for Gemma, so transformers 4 and 5 read the same tanh GELU.
  const act = gemma ? { hidden_act: "gelu_pytorch_tanh", hidden_activation: "gelu_pytorch_tanh" } : {};
  const obj: Record<string, unknown> = {
    architectures: [archFeatures(config).architecture],
    attention_bias: false,
    attention_dropout: 0,
    head_dim: config.headDim,
    hidden_act: "silu",
    ...act,
    hidden_size: config.hiddenSize,
    initializer_range: 0.02,
    intermediate_size: config.intermediateSize,
    max_position_embeddings: config.maxPositionEmbeddings,
    ...(gemma ? {} : { mlp_bias: false }),
    model_type: config.modelType,
    num_attention_heads: config.numHeads,
    num_hidden_layers: config.numLayers,
    num_key_value_heads: config.numKvHeads,
    rms_norm_eps: config.rmsNormEps,
    ...ropeConfigFields({ theta: config.ropeTheta, scaling: config.ropeScaling }),
    tie_word_embeddings: config.tieWordEmbeddings,
    torch_dtype: torchDtype,
    use_cache: true,
    vocab_size: config.vocabSize,
    ...(config.bosTokenId !== undefined ? { bos_token_id: config.bosTokenId } : {}),
    ...(config.eosTokenId !== undefined ? { eos_token_id: config.eosTokenId } : {}),
    ...(config.modelType === "gemma2" ? gemma2ConfigFields(config) : {}),
    ...extra,
  };
  const sorted = Object.fromEntries(Object.entries(obj).sort(([a], [b]) => (a < b ? -1 : 1)));
  return `${JSON.stringify(sorted, null, 2)}\n`;
}

// ---------------------------------------------------------------------------------------------
// weight names

// ---------------------------------------------------------------------------------------------
// loading

function readJson(path: string): unknown {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fsError(err, path);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new UserError("not valid JSON", path);
  }
}

/** Tensor name → the safetensors file holding it, from model.safetensors or the shard index. */
function locateTensors(dir: string, files: string[]): Map<string, string> {
  const single = join(dir, "model.safetensors");
  const indexPath = join(dir, "model.safetensors.index.json");
  if (existsSync(single)) return new Map([["*", single]]);
  if (!existsSync(indexPath)) {
    const bin = existsSync(join(dir, "pytorch_model.bin"))
      ? " (pytorch_model.bin found: only safetensors is supported)"
      : "";
    throw new UserError(`no model.safetensors or model.safetensors.index.json${bin}`, dir);
  }
  files.push(indexPath);
  const index = readJson(indexPath) as Record<string, unknown> | null;
  const map = index?.weight_map;
  if (map === null || typeof map !== "object" || Array.isArray(map)) {
    throw new UserError('index has no "weight_map" object', indexPath);
  }
  const where = new Map<string, string>();
  for (const [name, shard] of Object.entries(map as Record<string, unknown>)) {
    if (typeof shard !== "string" || shard === "" || shard !== basename(shard) || shard.startsWith(".")) {
      throw new UserError(`weight_map entry for ${JSON.stringify(name)} is not a shard file name`, indexPath);
    }
    where.set(name, join(dir, shard));
  }
  return where;
}

/**
 * Load a Hugging Face Llama checkpoint. With `storage: "float16"` the matrices are converted tensor by
 * tensor as they are read, so no full float32 copy ever exists.
 */
export function loadLlamaCheckpoint(dir: string, opts: { storage?: WeightStorage } = {}): Checkpoint {
  try {
    if (!statSync(dir).isDirectory())
      throw new UserError("not a directory, expected a checkpoint directory", dir);
  } catch (err) {
    throw err instanceof UserError ? err : fsError(err, dir);
  }
  const configPath = join(dir, "config.json");
  if (!existsSync(configPath)) throw new UserError("no config.json in checkpoint directory", dir);
  const config = parseLlamaConfig(readJson(configPath), configPath);
  const files = [configPath];
  const where = locateTensors(dir, files);
  const indexPath = join(dir, "model.safetensors.index.json");

  const open = new Map<string, SafetensorsFile>();
  const fileOf = (path: string): SafetensorsFile => {
    let f = open.get(path);
    if (!f) {
      if (!existsSync(path))
        throw new UserError(`shard ${basename(path)} named in the index is missing`, indexPath);
      f = openSafetensors(path);
      open.set(path, f);
      files.push(path);
    }
    return f;
  };
  try {
    if (!where.has("*")) {
      // Every tensor the index names must be in its shard, whether or not we use it.
      for (const [name, path] of where) {
        if (!fileOf(path).tensors.has(name)) {
          throw new UserError(
            `tensor ${JSON.stringify(name)} named in the index is not in ${basename(path)}`,
            indexPath,
          );
        }
      }
    }
    const single = where.get("*");
    const locate = (name: string) => single ?? where.get(name);
    const allNames = single ? [...fileOf(single).tensors.keys()] : [...where.keys()];
    for (const name of allNames) {
      const m = /^model\.layers\.(\d+)\./.exec(name);
      if (m && Number(m[1]) >= config.numLayers) {
        throw new UserError(
          `has weights for layer ${m[1]} but config.json says num_hidden_layers ${config.numLayers}`,
          single ?? indexPath,
        );
      }
    }

    const weights = new Map<string, Float32Array>();
    const half = new Map<string, Uint16Array>();
    const shapes = new Map<string, number[]>();
    const dtypes = new Set<string>();
    for (const { name, shape } of llamaWeightNames(config)) {
      const path = locate(name);
      const f = path ? fileOf(path) : undefined;
      const info = f?.tensors.get(name);
      if (!f || !info) {
        const hint = name === "lm_head.weight" ? " (config.json has tie_word_embeddings false)" : "";
        throw new UserError(`missing tensor ${JSON.stringify(name)}${hint}`, single ?? indexPath);
      }
      if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
        throw new UserError(
          `tensor ${JSON.stringify(name)} has shape [${info.shape}], expected [${shape}] from config.json`,
          f.path,
        );
      }
      if (opts.storage === "float16" && storedHalf(shape)) half.set(name, readHalf(f, name));
      else weights.set(name, f.readF32(name));
      shapes.set(name, shape);
      dtypes.add(info.dtype);
    }
    if (config.tieWordEmbeddings) {
      const embed = "model.embed_tokens.weight";
      if (half.has(embed)) half.set("lm_head.weight", half.get(embed)!);
      else weights.set("lm_head.weight", weights.get(embed)!);
      shapes.set("lm_head.weight", [config.vocabSize, config.hiddenSize]);
    }
    return { dir, config, weights, half, shapes, sourceDtype: [...dtypes].sort().join("+"), files };
  } finally {
    for (const f of open.values()) f.close();
  }
}

// ---------------------------------------------------------------------------------------------
// saving

const TORCH_DTYPE = { F32: "float32", F16: "float16", BF16: "bfloat16" } as const;

let tmpCounter = 0;

/**
 * Write config.json and model.safetensors (or HF-style shards + index when the weights exceed
 * shardBytes) into `dir`, built in a sibling temp directory and renamed into place: the directory
 * is replaced as a whole, so pass tokenizer files and the like through `extraFiles`.
 */
export function saveLlamaCheckpoint(
  dir: string,
  config: LlamaConfig,
  weights: Map<string, Float32Array>,
  opts: {
    dtype?: "F32" | "F16" | "BF16";
    shardBytes?: number;
    extraConfig?: Record<string, unknown>;
    extraFiles?: Record<string, string | Uint8Array>;
  } = {},
): void {
  const dtype = opts.dtype ?? "F32";
  const tensors: [string, StTensorInput][] = [];
  for (const { name, shape } of llamaWeightNames(config)) {
    const w = weights.get(name);
    const n = shape.reduce((a, b) => a * b, 1);
    if (!w) throw new UserError(`cannot save: missing weight ${JSON.stringify(name)}`, dir);
    if (w.length !== n)
      throw new UserError(`cannot save: ${name} has ${w.length} values, shape [${shape}] needs ${n}`, dir);
    const data = dtype === "F32" ? w : dtype === "F16" ? f32ToF16(w) : f32ToBf16(w);
    tensors.push([name, { dtype, shape, data }]);
  }

  // Greedy sharding in state-dict order, as transformers' save_pretrained does.
  const shardBytes = opts.shardBytes ?? Number.POSITIVE_INFINITY;
  const shards: [string, StTensorInput][][] = [[]];
  let size = 0;
  let total = 0;
  for (const t of tensors) {
    const b = t[1].data.byteLength;
    if (size > 0 && size + b > shardBytes) {
      shards.push([]);
      size = 0;
    }
    shards[shards.length - 1].push(t);
    size += b;
    total += b;
  }

  tmpCounter += 1;
  const tmp = `${dir}.${process.pid}.${tmpCounter}.tmp`;
  try {
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const meta = { format: "pt" };
    if (shards.length === 1) {
      writeSafetensors(join(tmp, "model.safetensors"), Object.fromEntries(shards[0]), meta);
    } else {
      const pad = (i: number) => String(i).padStart(5, "0");
      const weightMap: [string, string][] = [];
      shards.forEach((shard, i) => {
        const name = `model-${pad(i + 1)}-of-${pad(shards.length)}.safetensors`;
        writeSafetensors(join(tmp, name), Object.fromEntries(shard), meta);
        for (const [t] of shard) weightMap.push([t, name]);
      });
      weightMap.sort(([a], [b]) => (a < b ? -1 : 1));
      const index = { metadata: { total_size: total }, weight_map: Object.fromEntries(weightMap) };
      writeFileAtomic(join(tmp, "model.safetensors.index.json"), `${JSON.stringify(index, null, 2)}\n`);
    }
    writeFileAtomic(join(tmp, "config.json"), configJson(config, TORCH_DTYPE[dtype], opts.extraConfig));
    for (const [name, data] of Object.entries(opts.extraFiles ?? {})) writeFileAtomic(join(tmp, name), data);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dirname(dir), { recursive: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (err instanceof UserError) throw err;
    throw fsError(err, dir);
  }
}

// ---------------------------------------------------------------------------------------------
// provenance and fixtures

/** sha256 of one file's bytes; for several files, sha256 of their hex digests joined by "\n". Streamed. */
export function sha256OfFiles(paths: string[]): string {
  const buf = new Uint8Array(1 << 20);
  const digests = paths.map((p) => {
    const h = createHash("sha256");
    let fd: number;
    try {
      fd = openSync(p, "r");
    } catch (err) {
      throw fsError(err, p);
    }
    try {
      for (let n = readSync(fd, buf); n > 0; n = readSync(fd, buf)) h.update(buf.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    return h.digest("hex");
  });
  if (digests.length === 1) return digests[0];
  return createHash("sha256").update(digests.join("\n")).digest("hex");
}

/**
 * Random weights for a config (tests and the embedded tiny models): N(0, std) matrices, norm scales
 * 1 + N(0, std) so they are not all exactly one. Each tensor has its own named stream.
 */
export function randomLlamaWeights(
  config: LlamaConfig,
  seed: number | string,
  std = 0.02,
): Map<string, Float32Array> {
  const root = rngStream(seed, "random-llama-weights");
  const out = new Map<string, Float32Array>();
  for (const { name, shape } of llamaWeightNames(config)) {
    const rng = root.child(name);
    const a = new Float32Array(shape.reduce((x, y) => x * y, 1));
    // Gemma's norms scale by (1 + weight): its weights sit around 0.
    const base = name.endsWith("norm.weight") && !archFeatures(config).normPlusOne ? 1 : 0;
    for (let i = 0; i < a.length; i++) a[i] = base + std * rng.normal();
    out.set(name, a);
  }
  if (config.tieWordEmbeddings) out.set("lm_head.weight", out.get("model.embed_tokens.weight")!);
  return out;
}
