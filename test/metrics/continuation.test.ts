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
});
