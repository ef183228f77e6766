import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { growthCheck, numericsCheck, placementCheck } from "../../harness/engine/first-run.ts";
import { ROOT } from "../cli-helpers.ts";

// The GPU runner's first-run checks, run here on the CPU provider: the code paths a first CUDA run
// takes (profiles, comparisons, memory readings) work, so that run needs no change.
describe("first-run checks on the cpu device", () => {
  const tiny = loadLlamaCheckpoint(join(ROOT, "fixtures/tiny"));

  it("placement: the loss, logits and decode graphs were profiled and nothing ran off the provider", async () => {
    const placed = await placementCheck(tiny.config, tiny.weights, "cpu");
    expect(Object.keys(placed).sort()).toEqual(["decode", "logits", "loss"]);
    expect(Object.values(placed).flat()).toEqual([]);
  });

  it("numerics: the cpu against itself is exact; growth: one reading per step, two halves compared", async () => {
    expect(await numericsCheck(tiny.config, tiny.weights, "cpu")).toEqual({ logits: 0, loss: 0, grads: 0 });
    const g = await growthCheck(tiny.config, tiny.weights, "cpu", [32, 16, 24, 32]);
    expect(g.after).toHaveLength(4);
    expect(g.after.every((b) => b > 0)).toBe(true);
    expect(g.firstPeak).toBe(Math.max(g.after[0], g.after[1]));
  });
});
