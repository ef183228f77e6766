import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { aggregateRouge, bootstrapInterval, mean, percentile } from "../../harness/metrics/aggregate.ts";
import { evaluateAggregate, MT19937 } from "../../harness/metrics/numpy.ts";
import { ROUGE_TYPES, type RougeScores, type RougeType } from "../../harness/metrics/rouge.ts";
import { rngStream } from "../../harness/rng.ts";

function fakeScores(f: Record<RougeType, number[]>): RougeScores[] {
  return f.rouge1.map((_, i) => {
    const s = {} as RougeScores;
    for (const k of ROUGE_TYPES) s[k] = { precision: 0, recall: 0, fmeasure: f[k][i] };
    return s;
  });
}

describe("percentile (numpy linear)", () => {
  it("interpolates between order statistics", () => {
    const xs = [1, 2, 3, 4, 10];
    expect(percentile(xs, 0)).toBe(1);
    expect(percentile(xs, 100)).toBe(10);
    expect(percentile(xs, 50)).toBe(3);
    expect(percentile(xs, 87.5)).toBe(7); // index 3.5
    expect(percentile([5], 2.5)).toBe(5);
  });
});

describe("bootstrap aggregation", () => {
  it("reports the plain mean and a low ≤ mid ≤ high interval around it", () => {
    const xs = Array.from({ length: 200 }, (_, i) => (i % 7) / 7);
    const r = bootstrapInterval(xs, rngStream(1, "t"));
    expect(r.mean).toBe(mean(xs));
    expect(r.low).toBeLessThan(r.mid);
    expect(r.mid).toBeLessThan(r.high);
    expect(Math.abs(r.mid - r.mean)).toBeLessThan(0.01);
  });

  it("is reproducible from the seed and independent per rouge type", () => {
    const col = (k: number) => Array.from({ length: 40 }, (_, i) => ((i * k) % 17) / 16);
    const f = { rouge1: col(1), rouge2: col(3), rougeL: col(5), rougeLsum: col(7) };
    const a = aggregateRouge(fakeScores(f), { seed: 3 });
    expect(aggregateRouge(fakeScores(f), { seed: 3 })).toEqual(a);
    expect(aggregateRouge(fakeScores(f), { seed: 4 })).not.toEqual(a);
    expect(a.rouge1.mean).toBe(mean(f.rouge1));
    expect(a.rouge1.mid).not.toBe(a.rouge2.mid);
  });
});

describe("numpy legacy RNG port (evaluate's aggregator)", () => {
  it("produces numpy's MT19937 words and choice() indices", () => {
    const mt = new MT19937(5);
    expect([mt.nextUint32(), mt.nextUint32(), mt.nextUint32()]).toEqual([953453411, 236996814, 3739766767]);
    expect([6, 6, 0, 9, 8].map(() => mt.below(10))).toEqual([6, 6, 0, 9, 8]);
  });

  it("reproduces BootstrapAggregator low/mid/high to 1e-12 (fixtures/numpy_bootstrap.json)", () => {
    type Case = { seed: number; fmeasure: Record<RougeType, number[]>; expected: Record<RougeType, object> };
    const cases: Case[] = JSON.parse(
      readFileSync(new URL("fixtures/numpy_bootstrap.json", import.meta.url), "utf8"),
    );
    for (const c of cases) {
      const got = evaluateAggregate(fakeScores(c.fmeasure), c.seed);
      for (const k of ROUGE_TYPES) {
        for (const [m, v] of Object.entries(c.expected[k])) {
          expect(Math.abs(got[k][m as "low"] - v), `${c.seed} ${k} ${m}`).toBeLessThan(1e-12);
        }
      }
    }
  });
});
