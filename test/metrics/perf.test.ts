import { describe, expect, it } from "vitest";
import { syntheticPair } from "../../harness/metrics/perf.ts";
import { rougeScore } from "../../harness/metrics/rouge.ts";
import { rngStream } from "../../harness/rng.ts";

// The workload the ROUGE benchmark times; its speed is `npm run perf`'s business, never a test's.
describe("the ROUGE benchmark's workload", () => {
  const words = Array.from({ length: 2000 }, (_, i) => `w${i}`);
  const v = { words, cdf: Float64Array.from(words, (_, i) => (i + 1) / words.length) };
  const count = (s: string) => s.split(/\s+/).filter(Boolean).length;

  it("pairs an ~800-word article, one sentence a line, with a ~60-word summary partly copied from it", () => {
    const { prediction, reference } = syntheticPair(rngStream(1, "perf-test"), v);
    expect(count(prediction)).toBeGreaterThanOrEqual(800);
    expect(count(prediction)).toBeLessThan(800 + 40);
    expect(count(reference)).toBeGreaterThanOrEqual(60);
    expect(count(reference)).toBeLessThan(60 + 40);
    expect(prediction.split("\n").length).toBeGreaterThan(20);
    const r2 = rougeScore(reference, prediction).rouge2;
    expect(r2.recall).toBeGreaterThan(0.2); // copied spans share bigrams with the article
    expect(r2.recall).toBeLessThan(1);
  });

  it("is the same for the same seed, so runs time the same work", () => {
    const a = syntheticPair(rngStream(7, "perf-test"), v);
    expect(syntheticPair(rngStream(7, "perf-test"), v)).toEqual(a);
    expect(syntheticPair(rngStream(8, "perf-test"), v)).not.toEqual(a);
  });
});
