import { describe, expect, it } from "vitest";
import { rougePerf } from "../../harness/metrics/perf.ts";

// Shape only: timing is measured by `rougePerf()` itself, never asserted in tests.
describe("rougePerf", () => {
  it("scores the requested pairs with and without stemming and reports a rate", () => {
    const r = rougePerf({ pairs: 20 });
    expect(r.plain.pairs).toBe(20);
    expect(r.stemmed.pairs).toBe(20);
    expect(r.pairs).toBe(40);
    expect(r.seconds).toBeGreaterThan(0);
    expect(r.pairs_per_s).toBeCloseTo(r.pairs / r.seconds, 6);
  });
});
