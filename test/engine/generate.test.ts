import { describe, expect, it } from "vitest";
import { generate, generateNoCache } from "../../harness/engine/generate.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import { randomLora, tinyConfig, weightsF64 } from "./tiny.ts";

describe("generation", () => {
  it("cached batched greedy decoding equals full recomputation, prompts of different lengths", async () => {
    const c = tinyConfig({ vocabSize: 64 });
    // Larger weights give peaked, non-degenerate next-token distributions.
    const model = new LlamaModel(c, weightsF64(c, "gen", 0.6));
    const lora = randomLora(
      c,
      { r: 2, alpha: 4, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false },
      "gen-l",
    );
    const prompts = [
      [1, 5, 9, 13, 2 + 20, 40],
      [1, 7],
      [1, 33, 34, 35, 36, 37, 38, 39, 40, 41],
      [1, 3, 3],
    ];
    for (const l of [undefined, lora]) {
      const cached = await generate(model, prompts, { maxNewTokens: 12, eosTokenIds: [2], lora: l });
      for (let b = 0; b < prompts.length; b++) {
        const ref = await generateNoCache(model, prompts[b], { maxNewTokens: 12, eosTokenIds: [2], lora: l });
        expect(cached[b]).toEqual(ref);
      }
      expect(new Set(cached.map((x) => x.join(","))).size).toBeGreaterThan(1);
    }
    await model.release();
  });

  it("stops a row at EOS and keeps nothing after it", async () => {
    const c = tinyConfig({ vocabSize: 64 });
    const model = new LlamaModel(c, weightsF64(c, "gen-eos", 0.6));
    const free = await generate(model, [[1, 4, 8]], { maxNewTokens: 10, eosTokenIds: [] });
    const eos = free[0][3];
    const stopped = await generate(model, [[1, 4, 8]], { maxNewTokens: 10, eosTokenIds: [eos] });
    const first = free[0].indexOf(eos);
    expect(stopped[0]).toEqual(free[0].slice(0, first + 1));
    await model.release();
  });

  it("samples reproducibly from a seed, and differently from another seed", async () => {
    const c = tinyConfig({ vocabSize: 64 });
    const model = new LlamaModel(c, weightsF64(c, "gen-sample", 0.2));
    const run = (seed: number) =>
      generate(
        model,
        [
          [1, 4, 8],
          [1, 2],
        ],
        {
          maxNewTokens: 16,
          eosTokenIds: [],
          sampling: { temperature: 1.5, topP: 0.95, seed },
        },
      );
    expect(await run(1)).toEqual(await run(1));
    expect(await run(1)).not.toEqual(await run(2));
    await model.release();
  });
});
