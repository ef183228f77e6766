/**
 * A checkpoint (with a LoRA adapter merged in) written as a model folder that transformers.js loads
 * from local files: config.json (with a `transformers.js_config` naming the dtype and the external
 * data), generation_config.json, the tokenizer files, and onnx/model{suffix}.onnx + its _data file.
 * The graph is the engine's own decode graph with Hugging Face's decoder IO (llama.ts, io "hf"); the
 * weights are the engine's, as float32, float16 matrices, or 8/4-bit MatMulNBits codes.
 *
 * The folder is built beside --out under a temporary name and renamed into place at the end, so a
 * failure leaves no half-written export and an existing folder untouched.
 */
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import { fsError, UserError } from "../errors.ts";
import { loadAdapter } from "./adapter-io.ts";
import { loadLlamaCheckpoint, sha256OfFiles } from "./checkpoint.ts";
import { loraGraphSpec, mergeLora } from "./lora.ts";
import { type FArr, LlamaModel } from "./model.ts";
import { writeModelWithData } from "./onnx.ts";
import { checkQuantFits } from "./quant/spec.ts";
import type { WeightQuant } from "./quant/types.ts";
import { halfStorage } from "./storage.ts";

export const EXPORT_DTYPES = ["fp32", "fp16", "q8", "q4"] as const;
export type ExportDtype = (typeof EXPORT_DTYPES)[number];

/** transformers.js's file name per dtype (its DEFAULT_DTYPE_SUFFIX_MAPPING). */
export const ONNX_FILE: Record<ExportDtype, string> = {
  fp32: "model.onnx",
  fp16: "model_fp16.onnx",
  q8: "model_quantized.onnx",
  q4: "model_q4.onnx",
};

/** What each dtype holds in 8 or 4 bits: every decoder linear, symmetric blocks of 32 (MatMulNBits). */
const QUANT: Partial<Record<ExportDtype, WeightQuant>> = {
  q8: { type: "int8", blockSize: 32, doubleQuant: false },
  q4: { type: "int4", blockSize: 32, doubleQuant: false, zeroPoints: false },
};

/** The record written beside the model (lora_bench_export.json) and printed by `export --json`. */
export interface ExportRecord {
  out: string;
  dtype: ExportDtype;
  onnx: string;
  /** Every other file of the folder (relative path) with its size in bytes. */
  files: Record<string, number>;
  base: { path: string; files: string[]; sha256: string };
  adapter: { path: string; sha256: string } | null;
}

export const RECORD_FILE = "lora_bench_export.json";
const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json"];
const OPTIONAL_FILES = ["special_tokens_map.json", "chat_template.jinja"];

export function parseExportDtype(value: string | undefined): ExportDtype {
  const v = value ?? "fp32";
  if (!(EXPORT_DTYPES as readonly string[]).includes(v))
    throw new UserError(`--dtype: unknown dtype ${JSON.stringify(v)} (one of ${EXPORT_DTYPES.join(", ")})`);
  return v as ExportDtype;
}

/** Refuse an --out that exists and is not an empty directory (nothing is overwritten). */
function checkOut(out: string): void {
  if (!existsSync(out)) return;
  let empty: boolean;
  try {
    empty = statSync(out).isDirectory() && readdirSync(out).length === 0;
  } catch (err) {
    throw fsError(err, out);
  }
  if (!empty) throw new UserError("--out exists and is not an empty directory", out);
}

export async function exportModel(o: {
  model: string;
  adapter?: string;
  out: string;
  dtype: ExportDtype;
}): Promise<ExportRecord> {
  const out = resolve(o.out);
  checkOut(out);
  for (const f of ["config.json", ...TOKENIZER_FILES])
    if (!existsSync(join(o.model, f)))
      throw new UserError(`no ${f} in the model directory (transformers.js needs it)`, o.model);
  const ckpt = loadLlamaCheckpoint(o.model, { storage: "float32" });
  const quant = QUANT[o.dtype];
  if (quant) checkQuantFits(quant, ckpt.config, `--dtype ${o.dtype}`);
  let weights: Map<string, FArr> = ckpt.weights;
  let adapter: ExportRecord["adapter"] = null;
  if (o.adapter) {
    const a = loadAdapter(o.adapter, ckpt.config);
    weights = mergeLora(ckpt.config, weights, { spec: loraGraphSpec(a.config), tensors: a.tensors });
    adapter = {
      path: resolve(o.adapter),
      sha256: sha256OfFiles([join(o.adapter, "adapter_model.safetensors")]),
    };
  }
  const weightFiles = ckpt.files.filter((f) => f.endsWith(".safetensors"));
  const base = {
    path: resolve(o.model),
    files: weightFiles.map((f) => basename(f)),
    sha256: sha256OfFiles(weightFiles),
  };

  let model: LlamaModel;
  if (o.dtype === "fp16") {
    const h = halfStorage(weights);
    model = new LlamaModel(ckpt.config, h.weights, { half: h.half });
  } else {
    model = new LlamaModel(ckpt.config, weights, { quant });
  }

  const tmp = `${out}.${process.pid}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    writeOnnx(model, tmp, o.dtype, JSON.parse(readFileSync(join(o.model, "config.json"), "utf8")));
    writeFileSync(join(tmp, "generation_config.json"), generationConfig(o.model, ckpt.config));
    for (const f of [...TOKENIZER_FILES, ...OPTIONAL_FILES])
      if (existsSync(join(o.model, f))) copyFileSync(join(o.model, f), join(tmp, f));
    const record: ExportRecord = {
      out,
      dtype: o.dtype,
      onnx: `onnx/${ONNX_FILE[o.dtype]}`,
      files: {},
      base,
      adapter,
    };
    record.files = sizes(tmp);
    writeFileSync(join(tmp, RECORD_FILE), `${JSON.stringify(record, null, 2)}\n`);
    if (existsSync(out)) rmdirSync(out); // checked empty above
    mkdirSync(dirname(out), { recursive: true });
    renameSync(tmp, out);
    return record;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The model's decode graph with Hugging Face's IO as `<dir>/onnx/<file for dtype>` with its weights
 * in the _data file beside it, and `<dir>/config.json`: `config` (the checkpoint's own config.json)
 * with the transformers.js_config that selects that file and its external data.
 */
export function writeOnnx(
  model: LlamaModel,
  dir: string,
  dtype: ExportDtype,
  config: Record<string, unknown>,
): void {
  const file = ONNX_FILE[dtype];
  mkdirSync(join(dir, "onnx"), { recursive: true });
  const graph = model.graph({ kind: "decode", io: "hf" });
  writeModelWithData(graph.bytes, join(dir, "onnx"), file, (name) => model.bytesOf(name));
  const withJs = { ...config, "transformers.js_config": { dtype, use_external_data_format: { [file]: 1 } } };
  writeFileSync(join(dir, "config.json"), `${JSON.stringify(withJs, null, 2)}\n`);
}

/** The model's generation_config.json, or one with its BOS/EOS ids when it has none. */
function generationConfig(dir: string, c: { bosTokenId?: number; eosTokenId?: number | number[] }): string {
  const path = join(dir, "generation_config.json");
  if (existsSync(path)) return readFileSync(path, "utf8");
  return `${JSON.stringify({ bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenId }, null, 2)}\n`;
}

/** Sizes of every file under `dir`, by relative path with "/" separators, sorted. */
function sizes(dir: string, prefix = ""): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) Object.assign(out, sizes(p, `${prefix}${name}/`));
    else out[`${prefix}${name}`] = st.size;
  }
  return out;
}
