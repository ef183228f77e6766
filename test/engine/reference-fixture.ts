/**
 * Helpers for the engine tests against fixtures/reference (transformers + PEFT outputs): reading a
 * reference array, the relative error every bound is stated in, and a model over a checkpoint in
 * float32 or float64.
 */
import { join } from "node:path";
import { expect } from "vitest";
import { loadLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { type FArr, LlamaModel, type LoraTensors, type LossBatch } from "../../harness/engine/model.ts";
import { openSafetensors } from "../../harness/engine/safetensors.ts";
import { ROOT } from "../cli-helpers.ts";
import { maxRel } from "../error-measures.ts";

export const REFERENCE_DIR = join(ROOT, "fixtures", "reference");

/** One float64 array of a reference safetensors file. */
export function readReference(path: string, name: string): Float64Array {
  const f = openSafetensors(path);
  try {
    return Float64Array.from(f.readF64(name));
  } finally {
    f.close();
  }
}

/** max |a − b| / max |b| over everything, for arrays of one length. */
export function rel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  return maxRel(a, b);
}

/** [row][position][vocab] logits as one flat array, row-major. */
export const flat = (logits: Float64Array[][]) =>
  Float64Array.from(logits.flat().flatMap((p) => Array.from(p)));

/** The same tensors in float64 (a float64 model builds float64 graphs). */
export const f64 = (m: Map<string, FArr>) =>
  new Map([...m].map(([k, v]) => [k, Float64Array.from(v)] as const));

/** Run f on a model of the checkpoint in `dir` (float64 weights when asked), released afterwards. */
export async function withModel<R>(
  dir: string,
  float64: boolean,
  f: (m: LlamaModel) => Promise<R>,
): Promise<R> {
  const ck = loadLlamaCheckpoint(dir);
  const m = new LlamaModel(ck.config, float64 ? f64(ck.weights) : ck.weights);
  try {
    return await f(m);
  } finally {
    await m.release();
  }
}

/**
 * Loss and gradients of the checkpoint in `dir` (float64) with and without per-layer recomputation
 * in the backward pass: they must agree. Returns how many tensors got a gradient.
 */
export async function expectRecomputationChangesNothing(
  dir: string,
  batch: LossBatch,
  opts: { lora?: LoraTensors; trainable: "lora" | "all" },
): Promise<number> {
  const run = (checkpointing: boolean) =>
    withModel(dir, true, (m) => m.lossAndGrads(batch, { ...opts, checkpointing }));
  const plain = await run(false);
  const recomputed = await run(true);
  expect(recomputed.loss).toBeCloseTo(plain.loss, 12);
  for (const [k, g] of plain.grads) expect(rel(recomputed.grads.get(k)!, g)).toBeLessThan(1e-12);
  return plain.grads.size;
}
