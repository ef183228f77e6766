import { copyFileSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { byteToken, modelFromJson, normalize, referenceEncode, trainBpe } from "../../fixtures/lib/bpe.ts";
import { loadSplit } from "../../harness/data/load.ts";
import {
  buildSummaryPrompt,
  buildTrainingExample,
  DEFAULT_INSTRUCTION,
  IGNORE_INDEX,
  truncateToTokens,
} from "../../harness/data/prompt.ts";
import type { NewsRecord } from "../../harness/data/records.ts";
import { loadTokenizer, type Tok } from "../../harness/data/tokenizer.ts";
import { UserError } from "../../harness/errors.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
const TINY = resolve(repoRoot, "fixtures/tiny");

let tok: Tok;
let validation: NewsRecord[];
const json = JSON.parse(readFileSync(join(TINY, "tokenizer.json"), "utf8"));
const model = modelFromJson(json);

beforeAll(async () => {
  tok = await loadTokenizer(TINY);
  validation = await loadSplit(resolve(repoRoot, "fixtures/data/synthetic-news"), "validation");
});

describe("fixtures/tiny tokenizer: Llama-shaped byte-fallback BPE", () => {
  it("has Llama's structure and ids: <unk>=0 <s>=1 </s>=2, 256 byte tokens, 2048 in all, < 1 MB", () => {
    expect(json.model.type).toBe("BPE");
    expect(json.model.byte_fallback).toBe(true);
    expect(json.model.fuse_unk).toBe(true);
    expect(json.pre_tokenizer).toBeNull();
    expect(json.normalizer.normalizers.map((n: { type: string }) => n.type)).toEqual(["Prepend", "Replace"]);
    expect(json.decoder.decoders.map((d: { type: string }) => d.type)).toEqual([
      "Replace",
      "ByteFallback",
      "Fuse",
      "Strip",
    ]);
    expect([model.vocab.get("<unk>"), model.vocab.get("<s>"), model.vocab.get("</s>")]).toEqual([0, 1, 2]);
    expect(model.vocab.get(byteToken(0))).toBe(3);
    expect(model.vocab.get(byteToken(255))).toBe(258);
    expect(model.vocab.size).toBe(2048);
    expect(new Set(model.vocab.values()).size).toBe(2048);
    expect(statSync(join(TINY, "tokenizer.json")).size).toBeLessThan(1 << 20);
    // Chat markers are plain text, as in TinyLlama; only <unk>, <s>, </s> are added tokens.
    expect(json.added_tokens.map((t: { content: string }) => t.content)).toEqual(["<unk>", "<s>", "</s>"]);
  });

  it("loads through AutoTokenizer with TinyLlama's special ids", () => {
    expect([tok.bosId, tok.eosId, tok.padId, tok.vocabSize]).toEqual([1, 2, 2, 2048]);
    const ids = tok.encode("The man was jailed.");
    expect(ids[0]).toBe(1); // add_bos_token
    expect(ids.at(-1)).not.toBe(2); // add_eos_token false
    expect(tok.encode("The man", { addSpecialTokens: false })[0]).not.toBe(1);
  });

  it("renders TinyLlama's Zephyr-style chat template", () => {
    const msgs = [
      { role: "system" as const, content: "Be brief." },
      { role: "user" as const, content: "Hi" },
      { role: "assistant" as const, content: "Hello" },
      { role: "user" as const, content: "Summarise" },
    ];
    expect(tok.applyChatTemplate(msgs, { addGenerationPrompt: true })).toBe(
      "<|system|>\nBe brief.</s>\n<|user|>\nHi</s>\n<|assistant|>\nHello</s>\n<|user|>\nSummarise</s>\n<|assistant|>\n",
    );
    expect(tok.applyChatTemplate([msgs[1]])).toBe("<|user|>\nHi</s>\n");
  });

  it("round-trips non-ASCII text through byte fallback (£, ’, U+00A0, emoji, CJK)", () => {
    for (const s of [
      "£40,000 ‘quoted’ — “done”",
      "a\u00a0b",
      "emoji 😀🇬🇧 ok",
      "漢字 and Ünïcödé",
      "  two leading spaces",
      "x\n\ny\t",
    ]) {
      const ids = tok.encode(s, { addSpecialTokens: false });
      expect(tok.decode(ids)).toBe(s);
    }
    const emoji = tok.encode("😀", { addSpecialTokens: false });
    expect(emoji.some((id) => id >= 3 && id <= 258)).toBe(true); // spelled as UTF-8 byte tokens
  });

  it("AutoTokenizer agrees with the independent reference encoder (merges and ranks are right)", () => {
    // What lets the reference encode word by word: no merge continues across a "▁".
    for (const [, b] of model.merges) expect(b.includes("\u2581")).toBe(false);
    const texts = validation.flatMap((r) => [r.article, r.highlights]);
    for (const t of texts)
      expect(tok.encode(t, { addSpecialTokens: false })).toEqual(referenceEncode(model, t));
  });

  it("compresses the synthetic corpus it was trained for", () => {
    const counts = validation.map((r) => tok.encode(r.article, { addSpecialTokens: false }).length);
    const words = validation.map((r) => r.article.split(/\s+/).length);
    const perWord = counts.reduce((a, b) => a + b) / words.reduce((a, b) => a + b);
    expect(perWord).toBeLessThan(1.8);
  });

  it("loads without touching the network", async () => {
    const real = globalThis.fetch;
    const calls: string[] = [];
    globalThis.fetch = (async (u: unknown) => {
      calls.push(String(u));
      throw new Error("network disabled in this test");
    }) as typeof fetch;
    try {
      const t = await loadTokenizer(TINY);
      expect(t.vocabSize).toBe(2048);
    } finally {
      globalThis.fetch = real;
    }
    expect(calls).toEqual([]);
  });

  it("missing tokenizer files are a user error naming the dir and the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tok-"));
    try {
      copyFileSync(join(TINY, "tokenizer.json"), join(dir, "tokenizer.json"));
      const err = await loadTokenizer(dir).catch((e) => e);
      expect(err).toBeInstanceOf(UserError);
      expect(err.message).toBe(`${dir}: missing tokenizer file tokenizer_config.json`);
      const none = await loadTokenizer(join(dir, "nope")).catch((e) => e);
      expect(none.message).toMatch(/nope: missing tokenizer file tokenizer\.json$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("BPE training", () => {
  it("learns merges most-frequent-first, never across '▁' or digits, deterministically", () => {
    const texts = ["the cat the hat 2024", "the bat 2025"];
    const m = trainBpe(texts, { vocabSize: 300, minCharCount: 1 });
    expect(trainBpe(texts, { vocabSize: 300, minCharCount: 1 })).toEqual(m);
    for (const [a, b] of m.merges) {
      expect(b.includes("\u2581")).toBe(false);
      expect(/\d/.test(a + b)).toBe(false);
    }
    // "a t", "h e" and "▁ t" all occur 3 times: ties go to the pair's text, "a t" first.
    expect(m.merges[0]).toEqual(["a", "t"]);
    expect(referenceEncode(m, "the")).toEqual([m.vocab.get("\u2581the")]);
    expect(normalize("a b")).toBe("\u2581a\u2581b");
  });
});

describe("prompts", () => {
  it("builds the zero-shot prompt as a user turn + generation prompt, BOS first", () => {
    const r = validation[0];
    const p = buildSummaryPrompt(tok, r.article, { articleTokenBudget: 10_000 });
    expect(p.promptText).toBe(`<|user|>\n${DEFAULT_INSTRUCTION}\n\n${r.article}</s>\n<|assistant|>\n`);
    expect(p.promptIds[0]).toBe(tok.bosId);
    expect(p.promptIds).toContain(tok.eosId); // the user turn's </s> is the special token
    expect(p.truncatedTokens).toBe(0);
    expect(p.meta).toMatchObject({
      template: "chat",
      instruction: DEFAULT_INSTRUCTION,
      articleTokenBudget: 10_000,
    });
  });

  it("truncates the article at a token boundary, keeping the instruction and the assistant turn", () => {
    const r = validation[1];
    const full = tok.encode(r.article, { addSpecialTokens: false });
    const p = buildSummaryPrompt(tok, r.article, { articleTokenBudget: 40, instruction: "TL;DR please." });
    expect(p.truncatedTokens).toBe(full.length - 40);
    const cut = tok.decode(full.slice(0, 40));
    expect(r.article.startsWith(cut)).toBe(true);
    expect(p.promptText).toBe(`<|user|>\nTL;DR please.\n\n${cut}</s>\n<|assistant|>\n`);
    const base = buildSummaryPrompt(tok, "", { instruction: "TL;DR please." }).promptIds.length;
    expect(Math.abs(p.promptIds.length - base - 40)).toBeLessThanOrEqual(2);
  });

  it("never cuts inside a multi-byte character", () => {
    const text = "Price: 😀😀😀 end";
    for (let b = 1; b < 20; b++) {
      const t = truncateToTokens(tok, text, b);
      expect(text.startsWith(t.text)).toBe(true);
      expect(t.text).not.toContain("\uFFFD");
    }
  });

  it("training examples: -100 on the prompt, the highlights then EOS carry loss", () => {
    const r = validation[2];
    const ex = buildTrainingExample(tok, r, { articleTokenBudget: 64 });
    const p = buildSummaryPrompt(tok, r.article, { articleTokenBudget: 64 });
    expect(ex.promptLength).toBe(p.promptIds.length);
    expect(ex.inputIds.slice(0, ex.promptLength)).toEqual(p.promptIds);
    expect(ex.labels.slice(0, ex.promptLength).every((l) => l === IGNORE_INDEX)).toBe(true);
    expect(ex.labels.slice(ex.promptLength)).toEqual(ex.inputIds.slice(ex.promptLength));
    expect(ex.inputIds.at(-1)).toBe(tok.eosId);
    expect(ex.labels.at(-1)).toBe(tok.eosId);
    expect(tok.decode(ex.inputIds.slice(ex.promptLength, -1))).toBe(r.highlights);
    expect(ex.truncatedTokens).toBe(p.truncatedTokens);
    expect(ex.inputIds).toHaveLength(ex.labels.length);
  });
});
