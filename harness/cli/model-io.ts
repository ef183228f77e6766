/** Shared loading for the engine's subcommands: model + optional adapter, with user-facing errors. */

import { loadAdapter } from "../engine/adapter-io.ts";
import type { Checkpoint } from "../engine/checkpoint.ts";
import { loraGraphSpec } from "../engine/lora.ts";
import { type LlamaModel, type LoraTensors, openLlama } from "../engine/model.ts";
import type { Device } from "../engine/session.ts";
import { UserError } from "../errors.ts";

export function openModel(dir: string, device: Device = "cpu"): { ckpt: Checkpoint; model: LlamaModel } {
  const { checkpoint, model } = openLlama(dir, { device });
  return { ckpt: checkpoint, model };
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
