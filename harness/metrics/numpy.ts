/**
 * Just enough of numpy's legacy global RNG to reproduce `evaluate`'s aggregated ROUGE bit for bit:
 * MT19937 seeded like `np.random.seed(S)`, `np.random.choice(np.arange(n), size=n)` (legacy randint:
 * masked rejection sampling on 32-bit draws), and rouge_score's BootstrapAggregator loop order
 * (for each rouge type in order: 1000 resamples, then percentiles).
 *
 * evaluate runs `_compute` under `temp_seed(self.seed)`, where seed is `evaluate.load(..., seed=S)`
 * or, by default, the first word of numpy's global state at load time (42 right after
 * `np.random.seed(42)`, otherwise effectively random). So `--numpy-seed S` gives what evaluate
 * reports for that seed.
 */
import { intervalPercentiles, percentile } from "./aggregate.ts";
import { ROUGE_TYPES, type RougeScores, type RougeType } from "./rouge.ts";

export class MT19937 {
  private readonly mt = new Uint32Array(624);
  private pos = 624;

  /** init_genrand, as numpy's legacy `seed(int)`. */
  constructor(seed: number) {
    if (!Number.isInteger(seed) || seed < 0 || seed > 0xffffffff)
      throw new RangeError("numpy seed must be in [0, 2^32)");
    const mt = this.mt;
    mt[0] = seed >>> 0;
    for (let i = 1; i < 624; i++) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
    }
  }

  private twist(): void {
    const mt = this.mt;
    for (let k = 0; k < 624; k++) {
      const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
      mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
    }
    this.pos = 0;
  }

  nextUint32(): number {
    if (this.pos >= 624) this.twist();
    let y = this.mt[this.pos++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  }

  /** Legacy `randint(0, n)` for n <= 2^32: draw 32 bits, mask to the next power of two, reject. */
  below(n: number): number {
    const max = n - 1;
    if (max === 0) return 0; // numpy draws nothing when the range is one value
    let mask = max;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    for (;;) {
      const v = (this.nextUint32() & mask) >>> 0;
      if (v <= max) return v;
    }
  }
}

/**
 * What `evaluate.load("rouge", seed=S).compute(predictions, references)` returns (aggregated
 * fmeasure = BootstrapAggregator mid), plus low/high, given the per-pair scores in input order.
 */
export function evaluateAggregate(
  scores: readonly RougeScores[],
  numpySeed: number,
  resamples = 1000,
  confidence = 0.95,
): Record<RougeType, { low: number; mid: number; high: number }> {
  const n = scores.length;
  if (n === 0) throw new RangeError("evaluateAggregate needs at least one scored pair");
  const mt = new MT19937(numpySeed);
  const [ql, qm, qh] = intervalPercentiles(confidence);
  const out = {} as Record<RougeType, { low: number; mid: number; high: number }>;
  for (const k of ROUGE_TYPES) {
    const f = Float64Array.from(scores, (s) => s[k].fmeasure);
    const means = new Float64Array(resamples);
    for (let b = 0; b < resamples; b++) {
      let s = 0;
      for (let i = 0; i < n; i++) s += f[mt.below(n)];
      means[b] = s / n;
    }
    means.sort();
    out[k] = { low: percentile(means, ql), mid: percentile(means, qm), high: percentile(means, qh) };
  }
  return out;
}
