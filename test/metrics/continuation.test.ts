import { existsSync, readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  analyseOutput,
  continuationBias,
  copyStats,
  matchLengths,
  novelNgramRatio,
} from "../../harness/metrics/continuation.ts";

const ARTICLE =
  "The city council voted on Tuesday to close the old harbour bridge for repairs. Engineers found cracks " +
  "in two of its steel supports last month. The mayor said the work would take at least six months and " +
  "that ferries would run every twenty minutes while the bridge is shut";
const INSTRUCTION = "Summarize the article below in 3-4 sentences.";

describe("continuation flag", () => {
  it("does not flag a real abstractive summary", () => {
    const r = analyseOutput({
      prediction: "Cracked supports force a six-month closure of the harbour bridge; ferries will fill in.",
      article: ARTICLE,
      instruction: INSTRUCTION,
    });
    expect(r).toMatchObject({ continued: false, reasons: [], empty: false });
  });

  it("flags an output that opens by replaying article text (copied-opening)", () => {
    const r = analyseOutput({
      prediction: "Engineers found cracks in two of its steel supports last month, officials said.",
      article: ARTICLE,
    });
    expect(r.reasons).toEqual(["copied-opening"]);
    expect(r.openingAt).toBe(14);
  });

  it("flags an output that finishes the article's unfinished last sentence (continues-article)", () => {
    const r = analyseOutput({
      prediction: "for the rest of the year. Shops near the quay fear",
      article: ARTICLE,
    });
    expect(r.reasons).toEqual(["continues-article"]);
    // the same text after a finished article is not a continuation by this rule
    expect(analyseOutput({ prediction: "for the rest of the year.", article: `${ARTICLE}.` }).continued).toBe(
      false,
    );
  });

  it("flags an output that echoes the article's last words and goes on (continues-article)", () => {
    const r = analyseOutput({
      prediction: "While the bridge is shut, traders expect losses.",
      article: ARTICLE,
    });
    expect(r.reasons).toEqual(["continues-article"]);
  });

  it("flags an output that restates the prompt (restates-prompt)", () => {
    const echo = analyseOutput({
      prediction: "Summarize the article below in 3 sentences: the bridge closes.",
      article: ARTICLE,
      instruction: INSTRUCTION,
    });
    expect(echo.reasons).toEqual(["restates-prompt"]);
    const marker = analyseOutput({ prediction: "Bridge shut.\n### Article:\nThe city", article: ARTICLE });
    expect(marker.reasons).toEqual(["restates-prompt"]);
  });

  it("reports empty outputs separately and rates over all outputs", () => {
    const rep = continuationBias([
      { prediction: "", article: ARTICLE },
      { prediction: " \n ", article: ARTICLE },
      { prediction: "Engineers found cracks in two of its steel supports last month.", article: ARTICLE },
      { prediction: "The bridge will close for repairs.", article: ARTICLE },
    ]);
    expect(rep.emptyRate).toBe(0.5);
    expect(rep.rate).toBe(0.25);
    expect(rep.reasonRates).toEqual({ "copied-opening": 0.25, "continues-article": 0, "restates-prompt": 0 });
    expect(rep.examples[0]).toMatchObject({ continued: false, tokens: 0, novel1: null, copiedFraction: 0 });
  });
});

describe("extractiveness diagnostics", () => {
  it("measures novel n-grams by occurrence", () => {
    const src = ["a", "b", "c", "d"];
    expect(novelNgramRatio(["a", "b", "x", "a"], src, 1)).toBe(0.25);
    expect(novelNgramRatio(["a", "b", "x", "a"], src, 2)).toBe(2 / 3);
    expect(novelNgramRatio(["a"], src, 2)).toBeNull();
  });

  it("finds the longest copied run and the tokens covered by long runs", () => {
    const src = "a b c d e f g h i j".split(" ");
    const out = "x a b c y c d e f g h z".split(" ");
    expect(Array.from(matchLengths(out, src))).toEqual([0, 3, 2, 1, 0, 6, 5, 4, 3, 2, 1, 0]);
    expect(copyStats(out, src, 3)).toEqual({ longestCopy: 6, copiedFraction: 9 / 12 });
    expect(copyStats(out, src, 8)).toEqual({ longestCopy: 6, copiedFraction: 0 });
  });

  // The measured table in shared/data/cnn_dailymail_sample/README.md: [tokens, longest, ≥8] per model.
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
  const records = new URL("../../../shared/data/cnn_dailymail_sample/records.jsonl", import.meta.url);

  it.skipIf(!existsSync(records))("reproduces the README's verbatim-copy table for 15 real records", () => {
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
