/**
 * Power of a paired comparison: the minimum detectable effect (MDE) of a design (examples × seeds)
 * and the design needed for a given effect.
 *
 * Model for one per-example paired difference d_ik (example i, training seed k):
 *   d_ik = Δ + u_k + e_i + ε_ik,  Var u = τ² (the training run), Var e = σ_e² (the example),
 *   Var ε = σ_ε² (example × run).
 * Δ̂ = mean over i, k has Var = τ²/K + σ_e²/n + σ_ε²/(nK). τ² does not shrink with more examples:
 * one run cannot see it, so a single-seed study's own standard error leaves it out. We estimate the
 * components from our seeds × examples table by two-way ANOVA (method of moments, truncated at 0)
 * and give both designs the same components.
 *
 * Test: two-sided z-test at level α. Power(Δ) = Φ(|Δ|/SE − z) + Φ(−|Δ|/SE − z), z = Φ⁻¹(1 − α/2);
 * MDE = (z + Φ⁻¹(power)) · SE, the usual normal approximation (the second term of Power is ignored,
 * as it is below α/2).
 */

export const ALPHA = 0.05;
export const POWER = 0.8;

/** Variance components of one paired difference (see the file comment). */
export interface Components {
  /** σ_e²: example-to-example. */
  example: number;
  /** σ_ε²: example × training run. */
  interaction: number;
  /** τ²: training run to training run (0 and `seedKnown: false` when only one seed was seen). */
  seed: number;
  seedKnown: boolean;
}

export interface Design {
  examples: number;
  seeds: number;
}

/** Standard normal CDF via Numerical Recipes' erfc fit (fractional error < 1.2e-7: ample for power). */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * z);
  const erfc =
    t *
    Math.exp(
      -z * z -
        1.26551223 +
        t *
          (1.00002368 +
            t *
              (0.37409196 +
                t *
                  (0.09678418 +
                    t *
                      (-0.18628806 +
                        t *
                          (0.27886807 +
                            t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return x >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** Φ⁻¹(p): Acklam's rational approximation (relative error < 1.2e-9), p in (0, 1). */
export function normalQuantile(p: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`normalQuantile needs 0 < p < 1, got ${p}`);
  const a = [
    -39.69683028665376, 220.9460984245205, -275.928510446969, 138.357751867269, -30.66479806614716,
    2.506628277459239,
  ];
  const b = [
    -54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572,
  ];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const lowTail = 0.02425;
  if (p < lowTail || p > 1 - lowTail) {
    const q = Math.sqrt(-2 * Math.log(p < lowTail ? p : 1 - p));
    const x =
      (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) /
      ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
    return p < lowTail ? x : -x;
  }
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) /
    (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
  );
}

/**
 * Per-seed differences D[k][i] of arm A against arm B. B with one seed (the base model's greedy
 * decode) is subtracted from every seed of A; equal seed counts pair seed k with seed k (independent
 * runs, so the pair's run effect is still one draw); otherwise B's seed mean is subtracted.
 */
export function seedDifferences(
  a: readonly (readonly number[])[],
  b: readonly (readonly number[])[],
): number[][] {
  if (a.length === 0 || b.length === 0) throw new RangeError("power: an arm has no seeds");
  const n = a[0].length;
  for (const row of [...a, ...b])
    if (row.length !== n) throw new RangeError(`power: seeds score different numbers of examples`);
  const bMean = Array.from({ length: n }, (_, i) => b.reduce((s, r) => s + r[i], 0) / b.length);
  return a.map((row, k) => row.map((x, i) => x - (b.length === a.length ? b[k][i] : bMean[i])));
}

/** Variance components from a seeds × examples table of differences (two-way ANOVA, no replication). */
export function estimateComponents(d: readonly (readonly number[])[]): Components {
  const K = d.length;
  const n = K ? d[0].length : 0;
  if (n < 2) throw new RangeError("power: needs at least 2 examples");
  const rowMean = d.map((r) => r.reduce((s, x) => s + x, 0) / n);
  const colMean = Array.from({ length: n }, (_, i) => d.reduce((s, r) => s + r[i], 0) / K);
  const grand = rowMean.reduce((s, x) => s + x, 0) / K;
  const ssEx = K * colMean.reduce((s, c) => s + (c - grand) ** 2, 0);
  if (K === 1) return { example: ssEx / (n - 1), interaction: 0, seed: 0, seedKnown: false };
  const ssSeed = n * rowMean.reduce((s, m) => s + (m - grand) ** 2, 0);
  let ssRes = 0;
  for (let k = 0; k < K; k++)
    for (let i = 0; i < n; i++) ssRes += (d[k][i] - rowMean[k] - colMean[i] + grand) ** 2;
  const msRes = ssRes / ((K - 1) * (n - 1));
  const msEx = ssEx / (n - 1);
  const msSeed = ssSeed / (K - 1);
  return {
    example: Math.max(0, (msEx - msRes) / K),
    interaction: msRes,
    seed: Math.max(0, (msSeed - msRes) / n),
    seedKnown: true,
  };
}

/** Standard error of Δ̂ for a design under the components. */
export function standardError(c: Components, design: Design): number {
  const { examples: n, seeds: K } = design;
  if (!(n >= 1 && K >= 1)) throw new RangeError(`power: a design needs ≥ 1 example and seed`);
  return Math.sqrt(c.seed / K + c.example / n + c.interaction / (n * K));
}

/** Probability that the two-sided level-α z-test rejects Δ = 0 when the true difference is `effect`. */
export function powerAt(effect: number, se: number, alpha = ALPHA): number {
  const z = normalQuantile(1 - alpha / 2);
  if (se === 0) return effect === 0 ? alpha : 1;
  const t = Math.abs(effect) / se;
  return normalCdf(t - z) + normalCdf(-t - z);
}

/** The smallest |Δ| detected with probability `power` at standard error `se`. */
export function mdeFromSe(se: number, alpha = ALPHA, power = POWER): number {
  return (normalQuantile(1 - alpha / 2) + normalQuantile(power)) * se;
}

export interface MdeSummary {
  /** Minimum detectable |Δ| at 80% power, α = 0.05. */
  effect: number;
  se: number;
  n_examples: number;
  n_seeds: number;
  alpha: number;
  power: number;
  /** √σ_e², √σ_ε², √τ² of one paired difference. */
  sd_example: number;
  sd_interaction: number;
  sd_seed: number;
  /** False when only one seed was run: the run-to-run part is then unknown and counted as 0. */
  seed_variance_known: boolean;
}

export function mdeSummary(c: Components, design: Design): MdeSummary {
  const se = standardError(c, design);
  return {
    effect: mdeFromSe(se),
    se,
    n_examples: design.examples,
    n_seeds: design.seeds,
    alpha: ALPHA,
    power: POWER,
    sd_example: Math.sqrt(c.example),
    sd_interaction: Math.sqrt(c.interaction),
    sd_seed: Math.sqrt(c.seed),
    seed_variance_known: c.seedKnown,
  };
}

/**
 * Examples needed with K seeds for `effect` at the target power, or null when no number of examples
 * suffices (the run-to-run part τ²/K alone is too large: more seeds are needed).
 */
export function examplesNeeded(c: Components, seeds: number, effect: number, power = POWER): number | null {
  const z = normalQuantile(1 - ALPHA / 2) + normalQuantile(power);
  const budget = (effect / z) ** 2 - c.seed / seeds;
  const perExample = c.example + c.interaction / seeds;
  if (budget <= 0) return null;
  if (perExample === 0) return 1;
  // Guard against float round-off landing just under the target.
  let n = Math.max(1, Math.ceil(perExample / budget - 1e-9));
  while (powerAt(effect, standardError(c, { examples: n, seeds })) < power) n++;
  return n;
}

/** For K = 1..maxSeeds, the examples needed (null: unreachable at that K) and the power at the current design. */
export function sampleSizeTable(c: Components, effect: number, maxSeeds = 10) {
  return Array.from({ length: maxSeeds }, (_, i) => ({
    seeds: i + 1,
    examples: examplesNeeded(c, i + 1, effect),
  }));
}
