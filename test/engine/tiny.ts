import type { LlamaConfig } from "../../harness/engine/checkpoint.ts";
import { randomLlamaWeights } from "../../harness/engine/checkpoint.ts";
import { initLora, type LoraSettings } from "../../harness/engine/lora.ts";
import type { FArr, LoraTensors } from "../../harness/engine/model.ts";
import { rngStream } from "../../harness/rng.ts";

/** A small Llama with GQA (4 query heads over 2 KV heads) for exact checks. */
export function tinyConfig(over: Partial<LlamaConfig> = {}): LlamaConfig {
  return {
    modelType: "llama",
    hiddenSize: 16,
    intermediateSize: 24,
    numLayers: 2,
    numHeads: 4,
    numKvHeads: 2,
    headDim: 4,
    rmsNormEps: 1e-6,
    ropeTheta: 10000,
    maxPositionEmbeddings: 64,
    vocabSize: 40,
    tieWordEmbeddings: false,
    bosTokenId: 1,
    eosTokenId: 2,
    ropeScaling: null,
    ...over,
  };
}

export function weightsF64(c: LlamaConfig, seed: string, std = 0.3): Map<string, FArr> {
  const w = randomLlamaWeights(c, seed, std);
  const out = new Map<string, FArr>();
  const seen = new Map<Float32Array, Float64Array>();
  for (const [k, v] of w) {
    const d = seen.get(v) ?? Float64Array.from(v);
    seen.set(v, d);
    out.set(k, d);
  }
  return out;
}

/** An adapter whose B is random too (a fresh one has B = 0, which would hide A's gradient). */
export function randomLora(c: LlamaConfig, s: LoraSettings, seed: string, f64 = true): LoraTensors {
  const l = initLora(c, s, seed);
  const rng = rngStream(seed, "test-lora-b");
  for (const [k, v] of l.tensors) {
    const x = f64 ? Float64Array.from(v) : v;
    if (k.includes("lora_B")) for (let i = 0; i < x.length; i++) x[i] = 0.3 * rng.normal();
    l.tensors.set(k, x);
  }
  return l;
}

/** Central difference of f at x[i] (restores x[i]). */
export async function central(f: () => Promise<number>, x: FArr, i: number, eps = 1e-6): Promise<number> {
  const x0 = x[i];
  x[i] = x0 + eps;
  const a = await f();
  x[i] = x0 - eps;
  const b = await f();
  x[i] = x0;
  return (a - b) / (2 * eps);
}
