import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { modelFromJson, referenceEncode } from "../../fixtures/lib/bpe.ts";
import { fixMissingPeriod, pyStrip, readJsonl, readStoryDir } from "../../harness/data/records.ts";
import { loadTokenizer, type Tok } from "../../harness/data/tokenizer.ts";
import { analyseOutput } from "../../harness/metrics/continuation.ts";
import { sampleDir } from "./sample.ts";

// The real 15-article sample (test/sample/sample.ts says where it comes from).
const DIR = sampleDir();
const RECORDS = join(DIR, "records.jsonl");
const records = new URL(`file://${RECORDS}`);
const TINY = resolve(import.meta.dirname, "../../fixtures/tiny");

let tok: Tok;
beforeAll(async () => {
  tok = await loadTokenizer(TINY);
});

describe("readers", () => {
  it("reads records.jsonl: 15 records, strings untouched (U+00A0, curly quotes, £, \\/)", () => {
    const recs = readJsonl(join(DIR, "records.jsonl"));
    expect(recs).toHaveLength(15);
    const all = recs.map((r) => r.article + r.highlights).join("");
    for (const ch of ["\u00a0", "\u2019", "£"]) expect(all).toContain(ch);
    expect(Object.keys(recs[0])).toEqual(["id", "article", "highlights"]);
  });

  it("the HF loader rules applied to all 15 .story files give records.jsonl back exactly", () => {
    const want = readJsonl(join(DIR, "records.jsonl"));
    const got = readStoryDir(join(DIR, "stories"));
    expect(got).toHaveLength(15);
    const byId = new Map(got.map((r) => [r.id, r]));
    for (const r of want) expect(byId.get(r.id)).toEqual(r);
    // The README's claim holds with fix_missing_period in place: every line already ends properly.
    for (const f of readdirSync(join(DIR, "stories"))) {
      for (const line of readFileSync(join(DIR, "stories", f), "utf8")
        .split("\n")
        .map(pyStrip)) {
        expect(fixMissingPeriod(line)).toBe(line);
      }
    }
  });
});

describe("the tiny model's tokenizer on real text", () => {
  it("tokenizer: round-trips all 15 real records exactly", () => {
    for (const r of readJsonl(RECORDS)) {
      for (const text of [r.article, r.highlights]) {
        expect(tok.decode(tok.encode(text), { skipSpecialTokens: true })).toBe(text);
      }
    }
  });

  it("tokenizer: AutoTokenizer agrees with the independent reference encoder on real text", () => {
    const model = modelFromJson(JSON.parse(readFileSync(join(TINY, "tokenizer.json"), "utf8")));
    for (const r of readJsonl(RECORDS))
      for (const t of [r.article, r.highlights])
        expect(tok.encode(t, { addSpecialTokens: false })).toEqual(referenceEncode(model, t));
  });
});

describe("continuation bias on real outputs", () => {
  // The measured table in the sample's README.md: [tokens, longest, ≥8] per model.
  const TABLE: Record<string, [number, number, number, number, number, number]> = {
    "238331e1": [100, 20, 0.39, 50, 11, 0.44],
    "23de6140": [103, 62, 1.0, 98, 62, 0.96],
    c20825d7: [43, 5, 0.0, 43, 13, 0.56],
    "84516d83": [94, 30, 0.41, 98, 33, 1.0],
    "17f8604e": [72, 6, 0.0, 60, 23, 0.98],
    "4a57f970": [99, 8, 0.08, 67, 22, 0.75],
    "73e44438": [99, 21, 0.72, 87, 32, 0.95],
    "505ddcdf": [80, 14, 0.42, 69, 26, 0.78],
    "441342a7": [75, 19, 0.84, 65, 24, 0.92],
    "17186e4b": [57, 21, 0.84, 75, 75, 1.0],
    "751c16c0": [53, 5, 0.0, 90, 70, 1.0],
    "92599405": [96, 18, 0.27, 61, 8, 0.26],
    ed7906cd: [96, 4, 0.0, 55, 18, 0.75],
    "625a2e08": [92, 8, 0.09, 83, 30, 0.86],
    "22b0275d": [69, 62, 0.9, 47, 13, 0.79],
  };
  it("continuation: reproduces the sample README's verbatim-copy table for 15 real records", () => {
    const lines = readFileSync(records, "utf8").trim().split("\n");
    expect(lines).toHaveLength(15);
    const got: Record<string, number[]> = {};
    const means = { base: [0, 0], lora: [0, 0] };
    for (const line of lines) {
      const r = JSON.parse(line);
      const b = analyseOutput({ prediction: r.base_prediction, article: r.article });
      const l = analyseOutput({ prediction: r.lora_prediction, article: r.article });
      const row = [b.tokens, b.longestCopy, b.copiedFraction, l.tokens, l.longestCopy, l.copiedFraction];
      got[r.id.slice(0, 8)] = row.map((x, i) => (i % 3 === 2 ? Number(x.toFixed(2)) : x));
      means.base[0] += b.longestCopy / 15;
      means.base[1] += b.copiedFraction / 15;
      means.lora[0] += l.longestCopy / 15;
      means.lora[1] += l.copiedFraction / 15;
    }
    expect(got).toEqual(TABLE);
    expect(means.base.map((x, i) => x.toFixed(i === 0 ? 1 : 2))).toEqual(["20.2", "0.40"]);
    expect(means.lora.map((x, i) => x.toFixed(i === 0 ? 1 : 2))).toEqual(["30.7", "0.80"]);
  });
});
