/**
 * LoRA adapters in PEFT's on-disk format: adapter_config.json + adapter_model.safetensors, so an
 * adapter trained here loads with `PeftModel.from_pretrained` and one trained in Python loads here.
 * Only what lora-bench computes is accepted; every other PEFT option is an explicit error rather
 * than something silently ignored.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fsError, UserError } from "../errors.ts";
import { writeDirAtomic } from "../fsutil.ts";
import { LORA_MODULES, loraKey, loraShapes } from "./architecture.ts";
import type { LlamaConfig } from "./checkpoint.ts";
import { openSafetensors, type StTensorInput, serializeSafetensors } from "./safetensors.ts";

export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targetModules: string[];
  useRslora: boolean;
  bias: "none";
  fanInFanOut: false;
}

export function loraScaling(c: Pick<LoraConfig, "r" | "alpha" | "useRslora">): number {
  return c.useRslora ? c.alpha / Math.sqrt(c.r) : c.alpha / c.r;
}

// ---------------------------------------------------------------------------------------------
// saving

/** Float64 tensors are written as F64 (as PEFT saves a float64 model's adapter), the rest as F32. */
export function saveAdapter(
  dir: string,
  cfg: LoraConfig,
  tensors: ReadonlyMap<string, Float32Array | Float64Array>,
  shapes: Map<string, number[]>,
  baseModel?: string,
): void {
  const st: Record<string, StTensorInput> = {};
  for (const [key, data] of tensors) {
    const shape = shapes.get(key);
    if (!shape) throw new Error(`saveAdapter: no shape for ${key}`);
    st[key] = { dtype: data instanceof Float64Array ? "F64" : "F32", shape, data };
  }
  // PEFT's LoraConfig fields as `save_pretrained` writes them (json.dumps(indent=2, sort_keys=True)).
  const config: Record<string, unknown> = {
    alpha_pattern: {},
    auto_mapping: null,
    base_model_name_or_path: baseModel ?? null,
    bias: "none",
    fan_in_fan_out: false,
    inference_mode: true,
    init_lora_weights: true,
    layers_pattern: null,
    layers_to_transform: null,
    loftq_config: {},
    lora_alpha: cfg.alpha,
    lora_dropout: cfg.dropout,
    megatron_config: null,
    megatron_core: "megatron.core",
    modules_to_save: null,
    peft_type: "LORA",
    r: cfg.r,
    rank_pattern: {},
    revision: null,
    target_modules: [...cfg.targetModules].sort(),
    task_type: "CAUSAL_LM",
    use_dora: false,
    use_rslora: cfg.useRslora,
  };
  writeDirAtomic(dir, {
    "adapter_config.json": `${JSON.stringify(config, null, 2)}\n`,
    "adapter_model.safetensors": serializeSafetensors(st, { format: "pt" }),
  });
}

// ---------------------------------------------------------------------------------------------
// loading

function parseLoraConfig(json: unknown, file: string): LoraConfig {
  const bad = (msg: string): never => {
    throw new UserError(msg, file);
  };
  if (json === null || typeof json !== "object" || Array.isArray(json))
    bad("adapter config is not a JSON object");
  const c = json as Record<string, unknown>;
  if (c.peft_type === undefined) bad('missing "peft_type" (expected "LORA")');
  if (c.peft_type !== "LORA")
    bad(`unsupported PEFT type ${JSON.stringify(c.peft_type)}; lora-bench supports LORA`);
  if (c.task_type != null && c.task_type !== "CAUSAL_LM") {
    bad(`task_type ${JSON.stringify(c.task_type)} is unsupported (expected CAUSAL_LM)`);
  }
  const r = c.r ?? 8;
  if (typeof r !== "number" || !Number.isSafeInteger(r) || r <= 0)
    bad(`"r" must be a positive integer, got ${JSON.stringify(r)}`);
  const alpha = c.lora_alpha ?? 8;
  if (typeof alpha !== "number" || !Number.isFinite(alpha) || alpha <= 0) {
    bad(`"lora_alpha" must be a positive number, got ${JSON.stringify(alpha)}`);
  }
  const dropout = c.lora_dropout ?? 0;
  if (typeof dropout !== "number" || !(dropout >= 0 && dropout < 1)) {
    bad(`"lora_dropout" must be in [0, 1), got ${JSON.stringify(dropout)}`);
  }
  const useRslora = c.use_rslora ?? false;
  if (typeof useRslora !== "boolean") bad(`"use_rslora" must be true or false`);
  const unsupported = (key: string, ok: (v: unknown) => boolean, what: string) => {
    if (c[key] !== undefined && !ok(c[key])) bad(`${key} ${JSON.stringify(c[key])} is unsupported (${what})`);
  };
  const isNull = (v: unknown) => v === null;
  const emptyObj = (v: unknown) =>
    v === null || (typeof v === "object" && Object.keys(v as object).length === 0);
  unsupported("use_dora", (v) => v === false, "DoRA (use_dora) is not supported by lora-bench");
  unsupported("fan_in_fan_out", (v) => v === false, "Llama's Linear weights are [out, in]");
  unsupported("bias", (v) => v === "none", 'only bias "none"');
  unsupported("layers_to_transform", isNull, "every layer is adapted");
  unsupported("rank_pattern", emptyObj, "one rank for all modules");
  unsupported("alpha_pattern", emptyObj, "one alpha for all modules");
  unsupported(
    "modules_to_save",
    (v) => v === null || (Array.isArray(v) && v.length === 0),
    "LoRA weights only",
  );

  const tm = c.target_modules;
  let targets: string[] = [];
  if (typeof tm === "string") {
    // PEFT reads a string as a regex over module names; only its simplest forms are accepted here.
    if (tm === "all-linear") targets = Object.keys(LORA_MODULES);
    else if (Object.hasOwn(LORA_MODULES, tm)) targets = [tm];
    else bad(`target_modules regex ${JSON.stringify(tm)} is unsupported; give a list of module names`);
  } else if (Array.isArray(tm) && tm.length > 0 && tm.every((t) => typeof t === "string")) {
    for (const t of tm as string[]) {
      // PEFT matches list entries as name suffixes, so "self_attn.q_proj" also means q_proj.
      const last = t.slice(t.lastIndexOf(".") + 1);
      const ok = Object.hasOwn(LORA_MODULES, last) && (t === last || t === `${LORA_MODULES[last]}.${last}`);
      if (!ok) {
        bad(
          `target_modules entry ${JSON.stringify(t)} is unsupported; lora-bench supports ${Object.keys(LORA_MODULES).join(", ")}`,
        );
      }
      if (!targets.includes(last)) targets.push(last);
    }
  } else {
    bad(`"target_modules" must be a non-empty list of module names, got ${JSON.stringify(tm)}`);
  }
  return {
    r: r as number,
    alpha: alpha as number,
    dropout: dropout as number,
    targetModules: targets.sort(),
    useRslora: useRslora as boolean,
    bias: "none",
    fanInFanOut: false,
  };
}

const KEY_RE =
  /^base_model\.model\.model\.layers\.(\d+)\.(self_attn|mlp)\.(q_proj|k_proj|v_proj|o_proj|gate_proj|up_proj|down_proj)\.lora_(A|B)(?:\.default)?\.weight$/;

type AdapterArray<D extends "F32" | "F64"> = D extends "F64" ? Float64Array : Float32Array;

/** Read an adapter for `modelConfig`; `dtype` F64 keeps F64 files exact (float64 training). */
export function loadAdapter<D extends "F32" | "F64" = "F32">(
  dir: string,
  modelConfig: LlamaConfig,
  dtype?: D,
): { config: LoraConfig; tensors: Map<string, AdapterArray<D>>; shapes: Map<string, number[]> } {
  try {
    if (!statSync(dir).isDirectory())
      throw new UserError("not a directory, expected an adapter directory", dir);
  } catch (err) {
    throw err instanceof UserError ? err : fsError(err, dir);
  }
  const cfgPath = join(dir, "adapter_config.json");
  const stPath = join(dir, "adapter_model.safetensors");
  if (!existsSync(cfgPath)) throw new UserError("no adapter_config.json in adapter directory", dir);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(cfgPath, "utf8"));
  } catch (err) {
    throw err instanceof SyntaxError ? new UserError("not valid JSON", cfgPath) : fsError(err, cfgPath);
  }
  const config = parseLoraConfig(json, cfgPath);
  if (!existsSync(stPath)) {
    const bin = existsSync(join(dir, "adapter_model.bin"));
    throw new UserError(
      bin
        ? "found adapter_model.bin but only safetensors adapters are supported (save with safe_serialization=True)"
        : "no adapter_model.safetensors in adapter directory",
      dir,
    );
  }

  const f = openSafetensors(stPath);
  try {
    const bad = (msg: string): never => {
      throw new UserError(msg, stPath);
    };
    const tensors = new Map<string, AdapterArray<D>>();
    const shapes = new Map<string, number[]>();
    // Layer-major, modules in Llama order: the order the rest of the engine enumerates LoRA tensors.
    const expected = new Map<string, number[]>(loraShapes(modelConfig, config).map((t) => [t.key, t.shape]));
    for (const [raw, info] of f.tensors) {
      const m = KEY_RE.exec(raw);
      if (!m || LORA_MODULES[m[3]] !== m[2])
        bad(`unexpected tensor ${JSON.stringify(raw)} (not a LoRA A/B weight of a Llama linear)`);
      const [, layerStr, , module, which] = m as RegExpExecArray;
      const layer = Number(layerStr);
      if (layer >= modelConfig.numLayers) {
        bad(`has tensors for layer ${layer} but the model has ${modelConfig.numLayers} layers`);
      }
      if (!config.targetModules.includes(module)) {
        bad(`has tensors for ${module}, which target_modules in adapter_config.json does not list`);
      }
      const key = loraKey(layer, module, which as "A" | "B");
      if (tensors.has(key)) bad(`tensor ${key} appears twice (with and without ".default")`);
      const want = expected.get(key)!;
      const shape = info.shape;
      const rankAxis = which === "A" ? 0 : 1;
      if (shape.length === 2 && shape[rankAxis] !== config.r) {
        bad(
          `tensor ${JSON.stringify(raw)} has rank ${shape[rankAxis]} but adapter_config.json says r ${config.r}`,
        );
      }
      if (shape.length !== 2 || shape[0] !== want[0] || shape[1] !== want[1]) {
        bad(`tensor ${JSON.stringify(raw)} has shape [${shape}], expected [${want}] for this model`);
      }
      tensors.set(key, (dtype === "F64" ? f.readF64(raw) : f.readF32(raw)) as AdapterArray<D>);
      shapes.set(key, want);
    }
    for (const key of expected.keys()) if (!tensors.has(key)) bad(`missing tensor ${JSON.stringify(key)}`);
    // Same order as `expected` regardless of the file's layout.
    const keys = [...expected.keys()];
    return {
      config,
      tensors: new Map(keys.map((k) => [k, tensors.get(k)!])),
      shapes: new Map(keys.map((k) => [k, shapes.get(k)!])),
    };
  } finally {
    f.close();
  }
}
