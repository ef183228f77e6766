import { describe, expect, it } from "vitest";
import { loraKey } from "../../harness/engine/architecture.ts";
import type { LlamaConfig } from "../../harness/engine/checkpoint.ts";
import { dropoutMasks } from "../../harness/engine/lora.ts";
import { LlamaModel, type LossBatch } from "../../harness/engine/model.ts";
import { rngStream } from "../../harness/rng.ts";
import { central, randomLora, tinyConfig, weightsF64 } from "./tiny.ts";

const ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
const batch: LossBatch = {
  // Two rows of different lengths (right padding), labels -100 on the "prompt".
  inputIds: [
    [1, 5, 9, 3, 7, 11, 13],
    [1, 8, 4, 6, 2],
  ],
  labels: [
    [-100, -100, -100, 3, 7, 11, 13],
    [-100, -100, 4, 6, 2],
  ],
};

// Gemma: scaled embeddings, (1 + w) norms, GeGLU, multi-query attention, head_dim 8 ≠ 16/4, tied head.
const FAMILIES: [string, Partial<LlamaConfig>][] = [
  ["llama", {}],
  ["gemma", { modelType: "gemma", numKvHeads: 1, headDim: 8, tieWordEmbeddings: true }],
  // Gemma-2: four norms per layer, soft-capped scores and logits, a window of 3 on the first layer.
  [
    "gemma2",
    {
      modelType: "gemma2",
      tieWordEmbeddings: true,
      queryPreAttnScalar: 6,
      attnLogitSoftcapping: 1.5,
      finalLogitSoftcapping: 2,
      slidingWindow: 3,
      layerTypes: ["sliding_attention", "full_attention"],
    },
  ],
];

describe.each(FAMILIES)("%s: gradients vs central finite differences (fp64)", (_family, arch) => {
  it("matches for every LoRA tensor on all seven targets, with dropout masks", async () => {
    const c = tinyConfig(arch);
    const model = new LlamaModel(c, weightsF64(c, "grad-check"));
    const lora = randomLora(
      c,
      { r: 2, alpha: 4, dropout: 0.1, targetModules: ALL, useRslora: false },
      "grad-lora",
    );
    const lens = batch.inputIds.map((r) => r.length);
    const masks = dropoutMasks(
      model.dropoutInputs({ ...lora.spec, dropout: true }),
      lens.map((_, b) => rngStream(1, "dropout").child(`example-${b}`)),
      lens,
      7,
      0.25,
    );
    const f64Masks = new Map([...masks].map(([k, v]) => [k, Float64Array.from(v)] as const));
    const run = () => model.lossAndGrads(batch, { lora, masks: f64Masks });
    const { loss, grads } = await run();
    expect(loss).toBeGreaterThan(0);
    expect(grads.size).toBe(2 * 7 * 2);
    const rng = rngStream(7, "fd-sample");
    let worst = 0;
    for (const [key, g] of grads) {
      const x = lora.tensors.get(key)!;
      for (const i of rng.sample(x.length, Math.min(4, x.length))) {
        const fd = await central(async () => (await run()).loss, x, i);
        worst = Math.max(worst, Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd)));
      }
    }
    expect(worst).toBeLessThan(1e-6);
    await model.release();
  });

  it("matches for a sample of weights in full-parameter mode (tied embeddings)", async () => {
    const c = tinyConfig({ ...arch, tieWordEmbeddings: true });
    const weights = weightsF64(c, "grad-full");
    const model = new LlamaModel(c, weights);
    const run = () => model.lossAndGrads(batch, { trainable: "all" });
    const { grads } = await run();
    expect([...grads.keys()]).toContain("model.embed_tokens.weight");
    expect([...grads.keys()]).not.toContain("lm_head.weight");
    const rng = rngStream(8, "fd-sample-full");
    let worst = 0;
    for (const [key, g] of grads) {
      const x = weights.get(key)!;
      for (const i of rng.sample(x.length, 3)) {
        const fd = await central(async () => (await run()).loss, x, i);
        worst = Math.max(worst, Math.abs(fd - g[i]) / Math.max(1e-3, Math.abs(fd)));
      }
    }
    expect(worst).toBeLessThan(1e-6);
    await model.release();
  });
});

describe("a fresh adapter", () => {
  it("gives zero gradient to A and a non-zero one to B for a fresh adapter (B = 0)", async () => {
    const c = tinyConfig();
    const model = new LlamaModel(c, weightsF64(c, "fresh"));
    const { initLora } = await import("../../harness/engine/lora.ts");
    const lora = initLora(
      c,
      { r: 2, alpha: 4, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false },
      3,
    );
    const { grads } = await model.lossAndGrads(batch, { lora });
    const a = grads.get(loraKey(0, "q_proj", "A"))!;
    const b = grads.get(loraKey(0, "q_proj", "B"))!;
    expect(a.every((x) => x === 0)).toBe(true);
    expect(b.some((x) => x !== 0)).toBe(true);
    await model.release();
  });
});
