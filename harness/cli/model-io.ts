/** Shared loading for the engine's subcommands: model + optional adapter, with user-facing errors. */

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { loadAdapter } from "../engine/adapter-io.ts";
import {
  type Checkpoint,
  type LlamaConfig,
  loadLlamaCheckpoint,
  parseLlamaConfig,
} from "../engine/checkpoint.ts";
import { loraGraphSpec } from "../engine/lora.ts";
import { LlamaModel, type LoraTensors, openLlama } from "../engine/model.ts";
import { assertQuantKernel } from "../engine/quant/kernels.ts";
import { checkQuantFits, parseQuantFlag, type QuantSpec } from "../engine/quant/spec.ts";
import { assertDevice, type Device } from "../engine/session.ts";
import { UserError } from "../errors.ts";

/**
 * Load a checkpoint for a command. With `--quant`, the setting is checked before any weight is read:
 * an unknown type, a block that does not divide a decoder row (from config.json), or a device whose
 * provider lacks the 4-bit kernel is one line and exit 2.
 */
export async function openModel(
  dir: string,
  device: Device = "cpu",
  quantFlag?: string,
  opts: { float64?: boolean } = {},
): Promise<{ ckpt: Checkpoint; model: LlamaModel }> {
  const quant = await checkQuantFlag(quantFlag, dir, device);
  if (opts.float64) {
    // float64 graphs (reference-grade runs): the weights widened once, a tied head kept shared. The
    // checkpoint's float32 arrays are dropped (ckpt.weights comes back empty); the model holds the copies.
    const checkpoint = loadLlamaCheckpoint(dir, { storage: "float32" });
    const wide = new Map<Float32Array, Float64Array>();
    const weights = new Map<string, Float64Array>();
    for (const [name, w] of checkpoint.weights) {
      if (!wide.has(w)) wide.set(w, Float64Array.from(w));
      weights.set(name, wide.get(w)!);
    }
    checkpoint.weights.clear();
    return { ckpt: checkpoint, model: new LlamaModel(checkpoint.config, weights, { device }) };
  }
  // 4-bit weights are quantized from float32 ones (never from the float16 storage CUDA defaults to).
  const { checkpoint, model } = openLlama(dir, { device, quant, ...(quant ? { storage: "float32" } : {}) });
  return { ckpt: checkpoint, model };
}

/** The `--quant` checks of openModel, for commands that do other work (reading data) first. */
export async function checkQuantFlag(
  quantFlag: string | undefined,
  dir: string,
  device: Device,
): Promise<QuantSpec | undefined> {
  const quant = parseQuantFlag(quantFlag);
  if (!quant) return undefined;
  const config = peekConfig(dir);
  if (config) checkQuantFits(quant, config, "--quant");
  assertDevice(device);
  if (quant.type === "int4") await assertQuantKernel("MatMulNBits", device, "--quant int4");
  return quant;
}

/** The checkpoint's config if it can be read (loadLlamaCheckpoint reports every problem otherwise). */
function peekConfig(dir: string): LlamaConfig | undefined {
  const path = join(dir, "config.json");
  if (!existsSync(path)) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch {
    return undefined;
  }
  return parseLlamaConfig(json, path);
}

export function openAdapter(dir: string, ckpt: Checkpoint): LoraTensors & { shapes: Map<string, number[]> } {
  const a = loadAdapter(dir, ckpt.config);
  return { spec: loraGraphSpec(a.config), tensors: a.tensors, shapes: a.shapes };
}

export function checkIds(ids: number[], vocab: number, flag: string, allowIgnore = false): void {
  for (const id of ids) {
    if (allowIgnore && id === -100) continue;
    if (id < 0 || id >= vocab)
      throw new UserError(`--${flag}: token id ${id} is outside the vocabulary [0, ${vocab})`);
  }
}

/** Nest a flat row-major array into arrays of the given shape (for JSON output). */
export function nest(data: ArrayLike<number>, shape: number[]): unknown {
  if (shape.length === 1) return Array.from(data);
  const inner = shape.slice(1).reduce((a, b) => a * b, 1);
  return Array.from({ length: shape[0] }, (_, i) =>
    nest(Array.prototype.slice.call(data, i * inner, (i + 1) * inner), shape.slice(1)),
  );
}

export function writeJson(obj: unknown): void {
  process.stdout.write(`${JSON.stringify(obj)}\n`);
}
