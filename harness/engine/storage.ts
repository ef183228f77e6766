/**
 * How a model holds its weight matrices: float32 (the reference), or float16 — IEEE half bits that the
 * graphs cast to float32 right before each use. Norm vectors stay float32 either way.
 */
import { UserError } from "../errors.ts";
import { f32ToF16 } from "./dtype.ts";
import type { SafetensorsFile } from "./safetensors.ts";

export type WeightStorage = "float32" | "float16";

/** fp16 on CUDA (the T4 has no bf16; half the bytes to upload and hold); fp32 elsewhere. */
export function defaultStorage(device: string | undefined): WeightStorage {
  return device === "cuda" ? "float16" : "float32";
}

/** Whether a weight of this shape is stored in half under float16 storage (matrices, not norms). */
export function storedHalf(shape: readonly number[]): boolean {
  return shape.length === 2;
}

/** A tensor read as half bits; a value beyond float16's range (±65504) would become ±inf: refused. */
export function readHalf(f: SafetensorsFile, name: string): Uint16Array {
  const h = f.readF16(name);
  for (let i = 0; i < h.length; i++) {
    if ((h[i] & 0x7c00) === 0x7c00) {
      throw new UserError(
        `tensor ${JSON.stringify(name)} has a value float16 cannot hold (beyond ±65504 or not finite); use float32 storage`,
        f.path,
      );
    }
  }
  return h;
}

/**
 * float16 storage for weights already in memory (random weights, tests): matrices become half bits
 * one tensor at a time, norm vectors stay. Drop the input map afterwards, or both copies stay alive.
 */
export function halfStorage(weights: Map<string, Float32Array | Float64Array>): {
  weights: Map<string, Float32Array>;
  half: Map<string, Uint16Array>;
} {
  const full = new Map<string, Float32Array>();
  const half = new Map<string, Uint16Array>();
  const done = new Map<object, Uint16Array>(); // tied embeddings: one array under two names
  for (const [name, x] of weights) {
    const f32 = x instanceof Float32Array ? x : Float32Array.from(x);
    if (name.endsWith("norm.weight")) {
      full.set(name, f32);
      continue;
    }
    const h = done.get(x) ?? f32ToF16(f32);
    done.set(x, h);
    half.set(name, h);
  }
  return { weights: full, half };
}
