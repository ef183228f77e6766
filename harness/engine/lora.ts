/**
 * PEFT's LoRA: initialisation, scaling, dropout masks and merging.
 *
 * y = x·Wᵀ + s·(dropout(x)·Aᵀ)·Bᵀ with s = alpha/r (alpha/√r with use_rslora); A is
 * kaiming-uniform(a=√5) — U(−1/√in, 1/√in) — and B is zero, so a fresh adapter changes nothing.
 */
import { type Rng, rngStream } from "../rng.ts";
import { type LoraConfig, loraScaling } from "./adapter-io.ts";
import { linearShape, linearWeightName, loraKey, loraShapes } from "./architecture.ts";
import type { LlamaConfig } from "./checkpoint.ts";
import type { LoraGraphSpec } from "./llama.ts";
import type { FArr, LoraTensors } from "./model.ts";

/** The LoRA hyper-parameters the engine uses (PEFT's LoraConfig without its fixed fields). */
export type LoraSettings = Pick<LoraConfig, "r" | "alpha" | "dropout" | "targetModules" | "useRslora">;

export function loraGraphSpec(s: LoraSettings): LoraGraphSpec {
  return { r: s.r, scaling: loraScaling(s), targets: [...s.targetModules].sort(), dropout: false };
}

/** A fresh adapter: A ~ U(−1/√in, 1/√in) from the seed's "lora-init" stream (one child per key), B = 0. */
export function initLora(c: LlamaConfig, s: LoraSettings, seed: number | string): LoraTensors {
  const root = rngStream(seed, "lora-init");
  const tensors = new Map<string, FArr>();
  for (const { key, shape } of loraShapes(c, s)) {
    const a = new Float32Array(shape[0] * shape[1]);
    if (key.includes("lora_A")) {
      const bound = 1 / Math.sqrt(shape[1]);
      const rng = root.child(key);
      for (let i = 0; i < a.length; i++) a[i] = (2 * rng.next() - 1) * bound;
    }
    tensors.set(key, a);
  }
  return { spec: loraGraphSpec(s), tensors };
}

/**
 * Inverted-dropout masks for one micro-batch, [rows·T, in] per key: each entry is 0 with probability p,
 * else 1/(1−p). Row b's first lens[b] positions come from its own stream `rows[b]` (one per training
 * example), so an example gets the same mask whichever micro-batch carries it and however it is
 * padded; padded positions are 0 (they never reach a labelled position). Drawn from a fast generator
 * seeded by the named stream, because a TinyLlama step needs ~10⁸ draws.
 */
export function dropoutMasks(
  inputs: [string, number][],
  rows: Rng[],
  lens: number[],
  T: number,
  p: number,
): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  const keep = 1 / (1 - p);
  for (const [key, inF] of inputs) {
    const m = new Float32Array(rows.length * T * inF);
    rows.forEach((rng, b) => {
      const next = sfc32(rng.child(key));
      const end = (b * T + lens[b]) * inF;
      for (let i = b * T * inF; i < end; i++) m[i] = next() < p ? 0 : keep;
    });
    out.set(key, m);
  }
  return out;
}

/** sfc32 (Chris Doty-Humphrey's small fast counter), seeded from four draws of a stream. */
function sfc32(rng: Rng): () => number {
  let a = rng.int(2 ** 32) | 0;
  let b = rng.int(2 ** 32) | 0;
  let c = rng.int(2 ** 32) | 0;
  let d = rng.int(2 ** 32) | 0;
  return () => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return (t >>> 0) / 4294967296;
  };
}

/** W' = W + s·B·A for every adapted linear (PEFT's merge_and_unload). Returns a new weight map. */
export function mergeLora(c: LlamaConfig, weights: Map<string, FArr>, lora: LoraTensors): Map<string, FArr> {
  const out = new Map(weights);
  const { r, scaling } = lora.spec;
  for (let i = 0; i < c.numLayers; i++) {
    for (const t of lora.spec.targets) {
      const { inF, outF } = linearShape(c, t);
      const A = lora.tensors.get(loraKey(i, t, "A"))!;
      const B = lora.tensors.get(loraKey(i, t, "B"))!;
      const name = linearWeightName(i, t);
      const W = weights.get(name)!;
      const merged = W instanceof Float64Array ? Float64Array.from(W) : Float32Array.from(W);
      for (let o = 0; o < outF; o++) {
        for (let k = 0; k < r; k++) {
          const b = scaling * B[o * r + k];
          if (b === 0) continue;
          const row = o * inF;
          const arow = k * inF;
          for (let j = 0; j < inF; j++) merged[row + j] += b * A[arow + j];
        }
      }
      out.set(name, merged);
    }
  }
  return out;
}
