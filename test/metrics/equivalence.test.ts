import { describe, expect, it } from "vitest";
import { equivalenceVerdict, pairedEquivalence } from "../../harness/metrics/equivalence.ts";
import { type Rng, rngStream } from "../../harness/rng.ts";

/**
 * N examples × K seeds per arm, ROUGE-2-like: a shared example difficulty, an arm × example
 * interaction and per-seed noise; the population mean of A − B is exactly `delta`.
 */
function simulate(rng: Rng, n: number, seeds: number, delta: number, noise = 0.03) {
  const u = Array.from({ length: n }, () => 0.1 + 0.05 * rng.normal());
  const v = Array.from({ length: n }, () => 0.02 * rng.normal());
  const arm = (shift: number, inter: number) =>
    Array.from({ length: seeds }, () => u.map((x, i) => x + shift + inter * v[i] + noise * rng.normal()));
  return { a: arm(delta, 1), b: arm(0, 0) };
}

function rates(name: string, sims: number, n: number, seeds: number, delta: number, noise?: number) {
  const rng = rngStream(2026, name);
  const count = { holds: 0, fails: 0, inconclusive: 0 };
  for (let s = 0; s < sims; s++) {
    const { a, b } = simulate(rng, n, seeds, delta, noise);
    count[pairedEquivalence(a, b, 0.02, { seed: s, resamples: 300, permutations: 0 }).verdict]++;
  }
  return { holds: count.holds / sims, fails: count.fails / sims, inconclusive: count.inconclusive / sims };
}

describe("equivalence verdict", () => {
  it("holds inside the margin, fails outside it on either side, is inconclusive when the CI straddles", () => {
    expect(equivalenceVerdict(-0.01, 0.015, 0.02)).toBe("holds");
    expect(equivalenceVerdict(0.021, 0.05, 0.02)).toBe("fails");
    expect(equivalenceVerdict(-0.05, -0.03, 0.02)).toBe("fails");
    expect(equivalenceVerdict(-0.01, 0.03, 0.02)).toBe("inconclusive");
    expect(equivalenceVerdict(-0.03, 0.03, 0.02)).toBe("inconclusive");
    // A CI that touches the margin has not excluded it.
    expect(equivalenceVerdict(-0.02, 0.01, 0.02)).toBe("inconclusive");
    expect(equivalenceVerdict(0.02, 0.04, 0.02)).toBe("inconclusive");
    expect(() => equivalenceVerdict(0, 0.1, 0)).toThrow(/margin/);
    expect(() => equivalenceVerdict(0.1, 0, 0.02)).toThrow(/interval/);
  });

  // Deterministic simulations (seeded). Bands: 3 binomial standard errors around the target rate.
  it("a true Δ of 0 with the study's size (100 examples × 3 seeds) holds almost always", () => {
    const r = rates("zero", 200, 100, 3, 0);
    expect(r.holds).toBeGreaterThan(0.95);
    expect(r.fails).toBe(0);
  });

  it("a true Δ of 0.05 fails almost always, in either direction", () => {
    expect(rates("far-up", 200, 100, 3, 0.05).fails).toBeGreaterThan(0.95);
    expect(rates("far-down", 200, 100, 3, -0.05).fails).toBeGreaterThan(0.95);
  });

  it("a true Δ exactly at the margin is declared equivalent (or not) at most ~2.5% of the time", () => {
    const sims = 400;
    const band = 3 * Math.sqrt((0.025 * 0.975) / sims); // 0.023
    // Noise large enough that the CI's half-width (~0.01) is comparable to the margin.
    for (const delta of [0.02, -0.02]) {
      const r = rates(`edge${delta}`, sims, 60, 2, delta, 0.06);
      expect(r.holds).toBeLessThan(0.025 + band);
      expect(r.fails).toBeLessThan(0.025 + band);
      expect(r.inconclusive).toBeGreaterThan(0.9);
    }
  });

  it("a small, noisy study near the margin is mostly inconclusive", () => {
    const r = rates("small", 200, 15, 1, 0.012, 0.08);
    expect(r.inconclusive).toBeGreaterThan(0.7);
  });
});
