import { describe, expect, it } from "vitest";
import { stripVolatile } from "../../harness/report/volatile.ts";
import { makeReport } from "./fixture.ts";

describe("stripVolatile", () => {
  it("makes runs that differ only in timing and host fields equal, without touching the input", () => {
    const a = makeReport();
    const b = makeReport({ created_at: "2030-01-01T00:00:00Z", timings: { total_s: 9, arms: { base: 1 } } });
    b.provenance.host = { os: "darwin", cpu: "M9", cores: 64, memory_bytes: 1, gpu: "H200" };
    b.arms[1].seeds[2].train!.seconds = 1e6;
    b.arms[0].seeds[0].eval_seconds = 0;
    expect(stripVolatile(a)).toEqual(stripVolatile(b));
    expect(a.provenance.host.cpu).toBe("Test CPU");
    const s = stripVolatile(a) as Record<string, any>;
    expect(s.created_at).toBeUndefined();
    expect(s.timings).toBeUndefined();
    expect(s.provenance.host).toBeUndefined();
    expect(s.arms[1].seeds[0]).not.toHaveProperty("eval_seconds");
    expect(s.arms[1].seeds[0].train).toEqual({ steps: 75, final_loss: 1.9 });
  });

  it("still sees results: a metric, a verdict or the commit", () => {
    const b = makeReport();
    b.arms[0].metrics!.rouge2.mean = 0.5;
    expect(stripVolatile(b)).not.toEqual(stripVolatile(makeReport()));
    const c = makeReport();
    c.claims[0].verdict = "fails";
    expect(stripVolatile(c)).not.toEqual(stripVolatile(makeReport()));
  });
});
