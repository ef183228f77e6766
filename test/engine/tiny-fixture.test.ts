import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadSplit } from "../../harness/data/load.ts";
import { loadTokenizer } from "../../harness/data/tokenizer.ts";
import { loadLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { generate } from "../../harness/engine/generate.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import { ROOT } from "../cli-helpers.ts";

const TINY = join(ROOT, "fixtures/tiny");

describe("the embedded tiny model", () => {
  it("loads through the same path as TinyLlama (HF config + safetensors + AutoTokenizer) and writes text, not noise", async () => {
    const ck = loadLlamaCheckpoint(TINY);
    expect(ck.config).toMatchObject({
      modelType: "llama",
      numLayers: 4,
      hiddenSize: 192,
      numHeads: 6,
      numKvHeads: 2,
      vocabSize: 2048,
    });
    const tok = await loadTokenizer(TINY);
    expect(tok.vocabSize).toBe(ck.config.vocabSize);
    const log = JSON.parse(readFileSync(join(TINY, "training_log.json"), "utf8"));
    expect(log.validation_loss.after).toBeLessThan(log.validation_loss.before / 4);

    // Continue the opening of unseen test articles; the words it writes should be the corpus's words.
    const test = (await loadSplit(join(ROOT, "fixtures/data/synthetic-news"), "test")).slice(0, 4);
    const vocab = new Set(
      (await loadSplit(join(ROOT, "fixtures/data/synthetic-news"), "validation")).flatMap(
        (r) => `${r.article} ${r.highlights}`.toLowerCase().match(/[a-z]+/g) ?? [],
      ),
    );
    const model = new LlamaModel(ck.config, ck.weights);
    const prompts = test.map((r) =>
      tok.encode(r.article.split(" ").slice(0, 30).join(" "), { addSpecialTokens: true }),
    );
    const outs = await generate(model, prompts, { maxNewTokens: 40, eosTokenIds: [tok.eosId] });
    await model.release();
    const words = outs.flatMap(
      (o) =>
        tok
          .decode(o, { skipSpecialTokens: true })
          .toLowerCase()
          .match(/[a-z]+/g) ?? [],
    );
    expect(words.length).toBeGreaterThan(60);
    const known = words.filter((w) => vocab.has(w)).length / words.length;
    expect(known).toBeGreaterThan(0.9);
  });
});
