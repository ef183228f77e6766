/**
 * Paired comparison of two arms scored on the same examples, e.g. per-example ROUGE-2 of LoRA r=8
 * vs the base model, each possibly run under several seeds.
 *
 * Design:
 * - Input per arm: `scores[k][i]` = the arm's score on example i under seed k. Both arms must use
 *   the same examples in the same order (align by example id first); they may have different seed
 *   counts (the base model's greedy decode has one seed, a trained arm several).
 * - Each example is a cluster: d_i = mean_k A[k][i] − mean_k B[k][i]. Averaging seeds inside the
 *   cluster keeps every seed's data while respecting that one example's scores are correlated
 *   across seeds and arms. Δ = mean_i d_i.
 * - CI: percentile bootstrap over examples (resample the d_i with replacement, 2.5/97.5
 *   percentiles of the resampled means). It treats the seeds as given: it answers "how sure are we
 *   about Δ on this population of examples for these training runs", the question the study's table
 *   asks. Seed-to-seed training variance enters only through the d_i.
 * - p-value: two-sided paired sign-flip permutation test of H0 "the arm labels are exchangeable
 *   within each example" (d_i symmetric about 0): T = |Σ d_i|, each of M Monte Carlo draws flips
 *   every d_i's sign with probability 1/2, p = (1 + #{T* ≥ T}) / (1 + M), which is a valid p-value
 *   for any M. T* ≥ T is judged with a relative tolerance so float noise cannot turn ties into misses.
 */

import type { Rng } from "../rng.ts";
import { rngStream } from "../rng.ts";
import { bootstrapMeans, intervalPercentiles, mean, percentile } from "./aggregate.ts";

/** One arm's scores: per seed, per example (a single-seed arm may be a flat array). */
export type ArmScores = readonly number[] | readonly (readonly number[])[];

export interface PairedOptions {
  seed?: number | string;
  /** Stream name (default "paired"); bootstrap and permutation draw from its children. */
  name?: string;
  /** Bootstrap resamples (default 2000). */
  resamples?: number;
  /** Monte Carlo sign-flip draws (default 10,000); 0 skips the test (p = NaN). */
  permutations?: number;
  confidence?: number;
}

export interface PairedResult {
  /** Mean over examples of the seed-averaged difference A − B. */
  delta: number;
  low: number;
  high: number;
  /** Two-sided permutation p-value for Δ = 0. */
  p: number;
  examples: number;
  seedsA: number;
  seedsB: number;
  resamples: number;
  permutations: number;
}

function seedRows(arm: ArmScores): readonly (readonly number[])[] {
  return arm.length > 0 && typeof arm[0] === "number"
    ? [arm as readonly number[]]
    : (arm as readonly number[][]);
}

/** Seed-averaged per-example score of one arm; checks every seed scored the same N examples. */
function exampleMeans(arm: ArmScores, what: string, n?: number): Float64Array {
  const rows = seedRows(arm);
  if (rows.length === 0) throw new RangeError(`${what}: no seeds`);
  const len = n ?? rows[0].length;
  const out = new Float64Array(len);
  rows.forEach((row, k) => {
    if (row.length !== len)
      throw new RangeError(`${what}: seed ${k} has ${row.length} examples, expected ${len}`);
    for (let i = 0; i < len; i++) {
      if (!Number.isFinite(row[i]))
        throw new RangeError(`${what}: seed ${k} example ${i} is not a finite number`);
      out[i] += row[i];
    }
  });
  for (let i = 0; i < len; i++) out[i] /= rows.length;
  return out;
}

/** Per-example differences d_i = mean_k A[k][i] − mean_k B[k][i]. */
export function pairedDifferences(a: ArmScores, b: ArmScores): Float64Array {
  const ma = exampleMeans(a, "arm A");
  if (ma.length === 0) throw new RangeError("no examples to compare");
  const mb = exampleMeans(b, "arm B", ma.length);
  return ma.map((x, i) => x - mb[i]);
}

/** Percentile bootstrap CI of mean(d). */
export function bootstrapMeanCI(d: ArrayLike<number>, rng: Rng, resamples: number, confidence = 0.95) {
  const means = bootstrapMeans(d, rng, resamples);
  const [ql, , qh] = intervalPercentiles(confidence);
  return { low: percentile(means, ql), high: percentile(means, qh) };
}

/** Two-sided Monte Carlo sign-flip p-value for mean(d) = 0, with the +1 correction. */
export function signFlipPValue(d: ArrayLike<number>, rng: Rng, permutations: number): number {
  const n = d.length;
  let observed = 0;
  let scale = 0;
  for (let i = 0; i < n; i++) {
    observed += d[i];
    scale += Math.abs(d[i]);
  }
  const threshold = Math.abs(observed) - 1e-9 * scale;
  let atLeast = 0;
  for (let m = 0; m < permutations; m++) {
    let s = 0;
    let bits = 0;
    for (let i = 0; i < n; i++) {
      if ((i & 31) === 0) bits = Math.floor(rng.next() * 4294967296); // 32 fair coin flips per draw
      s += bits & 1 ? d[i] : -d[i];
      bits >>>= 1;
    }
    if (Math.abs(s) >= threshold) atLeast++;
  }
  return (1 + atLeast) / (1 + permutations);
}

/** Δ = A − B with its bootstrap CI and permutation p-value (see the file comment for the design). */
export function pairedCompare(a: ArmScores, b: ArmScores, opts: PairedOptions = {}): PairedResult {
  const d = pairedDifferences(a, b);
  const root = rngStream(opts.seed ?? 0, opts.name ?? "paired");
  const resamples = opts.resamples ?? 2000;
  const permutations = opts.permutations ?? 10_000;
  const ci = bootstrapMeanCI(d, root.child("bootstrap"), resamples, opts.confidence ?? 0.95);
  return {
    delta: mean(d),
    low: ci.low,
    high: ci.high,
    p: permutations > 0 ? signFlipPValue(d, root.child("permutation"), permutations) : Number.NaN,
    examples: d.length,
    seedsA: seedRows(a).length,
    seedsB: seedRows(b).length,
    resamples,
    permutations,
  };
}
