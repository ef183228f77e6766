import { describe, expect, it } from "vitest";
import { trackPeakRss, withPeakRss } from "../../harness/engine/rss.ts";

const MiB = 2 ** 20;

describe("peak RSS of a phase", () => {
  it("sees memory that a phase touched and gave back before it ended", async () => {
    const before = process.memoryUsage.rss();
    const { result, peakRssBytes } = await withPeakRss(async () => {
      let big: Uint8Array | null = new Uint8Array(256 * MiB);
      for (let i = 0; i < big.length; i += 4096) big[i] = 1; // make every page resident
      await new Promise((r) => setTimeout(r, 60));
      const sum = big[4096];
      big = null;
      return sum;
    });
    expect(result).toBe(1);
    expect(peakRssBytes).toBeGreaterThanOrEqual(before + 200 * MiB);
  });

  it("a phase that allocates nothing peaks near where it started", async () => {
    const t = trackPeakRss();
    const start = process.memoryUsage.rss();
    await new Promise((r) => setTimeout(r, 30));
    const peak = t.stop();
    expect(peak).toBeGreaterThanOrEqual(start - 64 * MiB);
    expect(peak).toBeLessThan(start + 64 * MiB);
  });
});
