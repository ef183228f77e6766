/**
 * fixtures/tiny-gemma's tokenizer: the tiny BPE with Gemma's special tokens and turn format, applied
 * through the tokenizer's own chat template exactly as for the Llama fixture.
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { GEMMA_CHAT_TEMPLATE } from "../../fixtures/scripts/make-gemma-tokenizer.ts";
import { loadSplit } from "../../harness/data/load.ts";
import { buildSummaryPrompt, buildTrainingExample, IGNORE_INDEX } from "../../harness/data/prompt.ts";
import type { NewsRecord } from "../../harness/data/records.ts";
import { loadTokenizer, type Tok, turnEndIds } from "../../harness/data/tokenizer.ts";

const root = resolve(import.meta.dirname, "../..");
const DIR = join(root, "fixtures", "tiny-gemma");
let tok: Tok;
let records: NewsRecord[];

beforeAll(async () => {
  tok = await loadTokenizer(DIR);
  records = await loadSplit(join(root, "fixtures/data/synthetic-news"), "validation");
});

describe("tiny Gemma tokenizer and chat template", () => {
  it("has Gemma's special tokens and the committed template is the generator's", () => {
    const cfg = JSON.parse(readFileSync(join(DIR, "tokenizer_config.json"), "utf8"));
    expect(cfg.chat_template).toBe(GEMMA_CHAT_TEMPLATE);
    expect([tok.padId, tok.eosId, tok.bosId]).toEqual([0, 1, 2]);
    expect(tok.encode("<start_of_turn><end_of_turn>", { addSpecialTokens: false })).toHaveLength(2);
    const config = JSON.parse(readFileSync(join(DIR, "config.json"), "utf8"));
    expect(config.vocab_size).toBe(tok.vocabSize);
  });

  it("renders Gemma's turns: BOS, user turn, model generation prompt; a system message is refused", () => {
    const text = tok.applyChatTemplate([{ role: "user", content: "Sum up.\n\nA cat sat. " }], {
      addGenerationPrompt: true,
    });
    expect(text).toBe("<bos><start_of_turn>user\nSum up.\n\nA cat sat.<end_of_turn>\n<start_of_turn>model\n");
    const two = tok.applyChatTemplate([
      { role: "user", content: "hi" },
      { role: "assistant", content: "hello" },
    ]);
    expect(two).toBe("<bos><start_of_turn>user\nhi<end_of_turn>\n<start_of_turn>model\nhello<end_of_turn>\n");
    expect(() => tok.applyChatTemplate([{ role: "system", content: "be brief" }])).toThrow(/no system role/);
  });

  it("decoding stops at <end_of_turn> as at EOS; the Llama fixture's turns end with EOS, so it adds none", async () => {
    expect(turnEndIds(tok)).toEqual(tok.encode("<end_of_turn>", { addSpecialTokens: false }));
    expect(turnEndIds(await loadTokenizer(join(root, "fixtures", "tiny")))).toEqual([]);
  });

  it("the study's prompt starts with one BOS (the template's), decodes back to its text, and is the example's prefix", () => {
    const p = buildSummaryPrompt(tok, records[0].article, { articleTokenBudget: 64 });
    expect(p.promptIds[0]).toBe(tok.bosId);
    expect(p.promptIds[1]).not.toBe(tok.bosId);
    expect(tok.decode(p.promptIds)).toBe(p.promptText);
    expect(p.promptText.endsWith("<start_of_turn>model\n")).toBe(true);
    const ex = buildTrainingExample(tok, records[0], { articleTokenBudget: 64 });
    expect(ex.inputIds.slice(0, ex.promptLength)).toEqual(p.promptIds);
    expect(ex.labels.slice(0, ex.promptLength).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(ex.inputIds.at(-1)).toBe(tok.eosId);
    expect(tok.decode(ex.inputIds.slice(ex.promptLength, -1))).toBe(records[0].highlights);
  });
});
