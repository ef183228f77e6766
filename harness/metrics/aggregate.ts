/**
 * Corpus-level ROUGE: the plain mean per metric (the headline number) plus a percentile bootstrap
 * interval shaped like rouge_score's BootstrapAggregator: `resamples` (1000) resamples of the
 * examples with replacement, the mean of each, then the 2.5/50/97.5 percentiles of those means
 * (numpy's default "linear" percentile) as low/mid/high.
 *
 * Relation to Python: `evaluate.load("rouge").compute(..., use_aggregator=True)` (its default) reports
 * BootstrapAggregator's `mid.fmeasure`, the median of 1000 resampled means drawn with numpy's global
 * RNG, not the mean. It differs from `mean` here only through that random resampling (typically by
 * well under 0.001 at N=100), and from our `mid` only because our draws come from a named
 * seedrandom stream. `use_aggregator=False` gives the per-example fmeasures whose mean is `mean`.
 * To reproduce evaluate's number itself, see numpy.ts (`evaluateAggregate`).
 */
import type { Rng } from "../rng.ts";
import { rngStream } from "../rng.ts";
import { ROUGE_TYPES, type RougeScores, type RougeType } from "./rouge.ts";

export interface Interval {
  /** Plain mean over examples: the headline value. */
  mean: number;
  low: number;
  mid: number;
  high: number;
}

export interface BootstrapOptions {
  /** Run seed; the stream is rngStream(seed, name). */
  seed?: number | string;
  /** Stream name (default "rouge-bootstrap"); each rouge type draws from its own child stream. */
  name?: string;
  resamples?: number;
  /** Central interval mass, 0.95 → percentiles 2.5 / 50 / 97.5. */
  confidence?: number;
}

export function mean(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new RangeError("mean of no values");
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return s / xs.length;
}

/** numpy.percentile(sorted, q) with method "linear", for an ascending array; q in [0, 100]. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError("percentile of no values");
  const idx = (n - 1) * (q / 100);
  const lo = Math.floor(idx);
  const hi = Math.min(lo + 1, n - 1);
  const t = idx - lo;
  const a = sorted[lo];
  const d = sorted[hi] - a;
  // numpy's _lerp: interpolate from the nearer end for t >= 0.5 (it is exact at t = 1)
  return t >= 0.5 ? sorted[hi] - d * (1 - t) : a + d * t;
}

/** The three percentiles rouge_score takes: (1-c)/2, 0.5, 1-(1-c)/2, computed as it does. */
export function intervalPercentiles(confidence = 0.95): [number, number, number] {
  const delta = (1 - confidence) / 2;
  return [100 * delta, 100 * 0.5, 100 * (1 - delta)];
}

/** Sorted means of `resamples` bootstrap resamples of `values`. */
export function bootstrapMeans(values: ArrayLike<number>, rng: Rng, resamples: number): Float64Array {
  const n = values.length;
  const means = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) {
    let s = 0;
    for (let i = 0; i < n; i++) s += values[rng.int(n)];
    means[b] = s / n;
  }
  return means.sort();
}

export function bootstrapInterval(
  values: ArrayLike<number>,
  rng: Rng,
  resamples = 1000,
  confidence = 0.95,
): Interval {
  const means = bootstrapMeans(values, rng, resamples);
  const [ql, qm, qh] = intervalPercentiles(confidence);
  return {
    mean: mean(values),
    low: percentile(means, ql),
    mid: percentile(means, qm),
    high: percentile(means, qh),
  };
}

/** Mean and bootstrap interval of each rouge type's fmeasure. */
export function aggregateRouge(
  scores: readonly RougeScores[],
  opts: BootstrapOptions = {},
): Record<RougeType, Interval> {
  if (scores.length === 0) throw new RangeError("aggregateRouge needs at least one scored pair");
  const root = rngStream(opts.seed ?? 0, opts.name ?? "rouge-bootstrap");
  const out = {} as Record<RougeType, Interval>;
  for (const k of ROUGE_TYPES) {
    const f = Float64Array.from(scores, (s) => s[k].fmeasure);
    out[k] = bootstrapInterval(f, root.child(k), opts.resamples ?? 1000, opts.confidence ?? 0.95);
  }
  return out;
}
