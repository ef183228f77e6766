import { describe, expect, it } from "vitest";
import {
  bootstrapMeanCI,
  pairedCompare,
  pairedDifferences,
  signFlipPValue,
} from "../../harness/metrics/paired.ts";
import { type Rng, rngStream } from "../../harness/rng.ts";

/**
 * K seeds × N examples per arm, ROUGE-like: an example difficulty shared by both arms, a per-example
 * arm interaction, and per-seed noise. The population mean of A − B is exactly `delta`.
 */
function simulate(rng: Rng, n: number, seedsA: number, seedsB: number, delta: number) {
  const u = Array.from({ length: n }, () => 0.3 + 0.1 * rng.normal());
  const v = Array.from({ length: n }, () => 0.04 * (rng.next() - 0.5) * Math.sqrt(12)); // mean 0, sd 0.04
  const arm = (k: number, shift: number, inter: number) =>
    Array.from({ length: k }, () => u.map((x, i) => x + shift + inter * v[i] + 0.03 * rng.normal()));
  return { a: arm(seedsA, delta, 1), b: arm(seedsB, 0, 0) };
}

describe("pairedCompare", () => {
  it("averages seeds within each example, allowing different seed counts", () => {
    const d = pairedDifferences(
      [
        [1, 2, 3],
        [3, 2, 1],
      ],
      [0, 1, 4],
    );
    expect(Array.from(d)).toEqual([2, 1, -2]);
    const r = pairedCompare(
      [
        [1, 2, 3],
        [3, 2, 1],
      ],
      [0, 1, 4],
      { resamples: 100, permutations: 100 },
    );
    expect(r).toMatchObject({ delta: 1 / 3, examples: 3, seedsA: 2, seedsB: 1 });
    expect(() => pairedCompare([[1, 2]], [[1, 2, 3]])).toThrow(/2 examples|expected 2/);
    expect(() => pairedCompare([[1, Number.NaN]], [[1, 2]])).toThrow(/finite/);
  });

  it("gives p = 1 when the arms are identical and a small p for a clear effect", () => {
    expect(pairedCompare([0.1, 0.2, 0.3], [0.1, 0.2, 0.3], { permutations: 999 }).p).toBe(1);
    const { a, b } = simulate(rngStream(1, "clear"), 100, 3, 3, 0.05);
    const r = pairedCompare(a, b, { seed: 1 });
    expect(r.p).toBeLessThan(0.001);
    expect(r.low).toBeGreaterThan(0);
    expect(r.low).toBeLessThan(r.delta);
    expect(r.delta).toBeLessThan(r.high);
  });

  it("never reports p below 1/(M+1)", () => {
    const p = signFlipPValue(new Float64Array(50).fill(1), rngStream(0, "x"), 99);
    expect(p).toBe(1 / 100);
  });

  // Simulation checks. Each is deterministic (seeded); the bands say how far a correct method can
  // land from nominal by chance: ±3 binomial standard errors, plus for the percentile bootstrap a
  // known small-sample under-coverage allowance of 1.5 points at N=40.
  it("bootstrap CI covers the true Δ about 95% of the time (800 simulated studies)", () => {
    const rng = rngStream(2024, "coverage");
    const sims = 800;
    let covered = 0;
    for (let s = 0; s < sims; s++) {
      const { a, b } = simulate(rng, 40, 3, 1, 0.02);
      const ci = bootstrapMeanCI(pairedDifferences(a, b), rng, 300);
      if (ci.low <= 0.02 && 0.02 <= ci.high) covered++;
    }
    const se = Math.sqrt((0.95 * 0.05) / sims); // 0.0077
    expect(covered / sims).toBeGreaterThan(0.95 - 0.015 - 3 * se);
    expect(covered / sims).toBeLessThan(0.95 + 3 * se);
  });

  it("permutation test has size ≈ 5% (and ≈ 20%) under the null (1500 simulated studies)", () => {
    const rng = rngStream(2024, "size");
    const sims = 1500;
    let at05 = 0;
    let at20 = 0;
    for (let s = 0; s < sims; s++) {
      const { a, b } = simulate(rng, 40, 2, 2, 0);
      const p = signFlipPValue(pairedDifferences(a, b), rng, 400);
      if (p <= 0.05) at05++;
      if (p <= 0.2) at20++;
    }
    const band = (alpha: number) => 3 * Math.sqrt((alpha * (1 - alpha)) / sims); // 0.0169, 0.0310
    expect(Math.abs(at05 / sims - 0.05)).toBeLessThan(band(0.05));
    expect(Math.abs(at20 / sims - 0.2)).toBeLessThan(band(0.2));
  });
});
