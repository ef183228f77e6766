import { describe, expect, it } from "vitest";
import { randomLlamaWeights } from "../../harness/engine/checkpoint.ts";
import { f16ToF32 } from "../../harness/engine/dtype.ts";
import { type FArr, LlamaModel } from "../../harness/engine/model.ts";
import { halfStorage } from "../../harness/engine/storage.ts";
import { randomLora, tinyConfig } from "./tiny.ts";

const c = tinyConfig();
const settings = { r: 2, alpha: 4, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false };
const ids = [
  [1, 5, 9, 13, 7, 3, 22],
  [1, 8, 2, 30, 11, 4, 6],
];
const labels = ids.map((r) => r.map((x, t) => (t < 2 ? -100 : x)));

/** The float32 weights the half ones stand for: every matrix rounded to fp16 and widened back exactly. */
function rounded(w: Map<string, FArr>): Map<string, FArr> {
  const { weights, half } = halfStorage(w);
  const out = new Map<string, FArr>(weights);
  for (const [k, h] of half) out.set(k, f16ToF32(h));
  return out;
}

async function measure(model: LlamaModel, lora = randomLora(c, settings, "half-lora", false)) {
  const logits = await model.logits(ids, lora);
  const step = await model.lossAndGrads({ inputIds: ids, labels }, { lora });
  const prefill = await model.decodeStep(
    ids,
    null,
    ids.map((r) => r.map(() => true)),
    ids.map((r) => r.map((_, t) => t)),
    lora,
  );
  await model.release();
  return { logits: logits.flat(), loss: step.loss, grads: step.grads, next: prefill.logits };
}

describe("float16 weight storage", () => {
  it("computes exactly what float32 computes on the fp16-rounded weights (the cast is exact)", async () => {
    const w = randomLlamaWeights(c, "half", 0.3) as Map<string, FArr>;
    const { weights, half } = halfStorage(w);
    const h = await measure(new LlamaModel(c, weights, { half }));
    const r = await measure(new LlamaModel(c, rounded(w)));
    expect(h.loss).toBe(r.loss);
    h.logits.forEach((row, i) => {
      expect(row).toEqual(r.logits[i]);
    });
    expect(h.next).toEqual(r.next);
    for (const [k, g] of h.grads) expect(g).toEqual(r.grads.get(k));
  });

  it("differs from float32 by no more than fp16 rounding of the weights allows (first-order bound)", async () => {
    // Rounding W to fp16 is W(1+δ) with |δ| ≤ u = 2^-11 per element (normal range; the smallest
    // weights here are far above fp16's normal minimum). To first order the loss then moves by
    // Σ ∂L/∂W · W·δ, so |ΔL| ≤ u · Σ |∂L/∂W ⊙ W|, computed here from float64 gradients of every
    // weight. Twice that bound leaves room for the second-order term, which is O(u²).
    const w = randomLlamaWeights(c, "half-bound", 0.3) as Map<string, FArr>;
    const u = 2 ** -11;
    const f64 = new Map<string, FArr>([...w].map(([k, x]) => [k, Float64Array.from(x)]));
    const ref = new LlamaModel(c, f64);
    const all = await ref.lossAndGrads({ inputIds: ids, labels }, { trainable: "all" });
    await ref.release();
    let sens = 0;
    for (const [k, g] of all.grads) {
      if (k.endsWith("norm.weight")) continue; // norms stay float32
      const x = f64.get(k)!;
      for (let i = 0; i < g.length; i++) sens += Math.abs(g[i] * x[i]);
    }
    const bound = 2 * u * sens;
    const { weights, half } = halfStorage(w);
    const model = new LlamaModel(c, weights, { half });
    const got = await model.lossAndGrads({ inputIds: ids, labels });
    await model.release();
    expect(Math.abs(got.loss - all.loss)).toBeLessThanOrEqual(bound);
    // The bound is not vacuous: fp16 rounding does move the loss, by less than the bound.
    expect(got.loss).not.toBe(all.loss);
    expect(bound).toBeLessThan(0.05 * Math.abs(all.loss));
  });

  it("keeps norm vectors float32 and refuses full fine-tuning", async () => {
    const w = randomLlamaWeights(c, "half-ft", 0.3) as Map<string, FArr>;
    const { weights, half } = halfStorage(w);
    expect([...weights.keys()].every((k) => k.endsWith("norm.weight"))).toBe(true);
    expect(half.get("model.layers.0.self_attn.q_proj.weight")).toBeInstanceOf(Uint16Array);
    const model = new LlamaModel(c, weights, { half });
    expect(model.storage).toBe("float16");
    await expect(model.lossAndGrads({ inputIds: ids, labels }, { trainable: "all" })).rejects.toThrow(
      /float32 storage/,
    );
  });
});
