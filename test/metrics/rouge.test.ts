import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { fmeasure, type RougeScores, rougeScore } from "../../harness/metrics/rouge.ts";
import { rougeTokenize } from "../../harness/metrics/tokenize.ts";

describe("rougeTokenize (rouge_score tokenize.py)", () => {
  it("lowercases and splits on every run of non-[a-z0-9]", () => {
    expect(rougeTokenize("Hello, World! It's 3,000 U.S.-made")).toEqual([
      "hello",
      "world",
      "it",
      "s",
      "3",
      "000",
      "u",
      "s",
      "made",
    ]);
  });
  it("treats non-ASCII as separators unless it lowercases to ASCII", () => {
    expect(rougeTokenize("Café naïve £5 “hi”")).toEqual(["caf", "na", "ve", "5", "hi"]);
    expect(rougeTokenize("\u212a \u0130stanbul")).toEqual(["k", "i", "stanbul"]); // Kelvin sign; İ → i + U+0307
  });
  it("stems only tokens longer than 3 characters", () => {
    expect(rougeTokenize("was dies running sky skies", true)).toEqual(["was", "die", "run", "sky", "sky"]);
  });
  it("gives no tokens for empty or punctuation-only text", () => {
    expect(rougeTokenize("")).toEqual([]);
    expect(rougeTokenize(" ... —\n ")).toEqual([]);
  });
});

describe("rougeScore", () => {
  it("scores identical texts 1 and disjoint texts 0", () => {
    const same = rougeScore("The cat sat.", "the CAT sat!");
    for (const k of ["rouge1", "rouge2", "rougeL", "rougeLsum"] as const) expect(same[k].fmeasure).toBe(1);
    expect(rougeScore("a b", "c d").rouge1).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
  });

  it("returns zeros, not NaN, for empty texts", () => {
    const s = rougeScore("", "");
    for (const k of ["rouge1", "rouge2", "rougeL", "rougeLsum"] as const) {
      expect(s[k]).toEqual({ precision: 0, recall: 0, fmeasure: 0 });
    }
  });

  it("clips repeated n-grams (Counter intersection)", () => {
    // ref a a a b, pred a b b b: unigram overlap min(3,1)+min(1,3) = 2 of 4 each
    const s = rougeScore("a a a b", "a b b b");
    expect(s.rouge1.precision).toBe(0.5);
    expect(s.rouge1.recall).toBe(0.5);
    expect(s.rouge2.fmeasure).toBe(1 / 3); // a b is the one shared bigram of 3
  });

  it("breaks LCS ties like _backtrack_norec (ties step back in the reference)", () => {
    // ref line [a b]; pred lines [b a] and [a]. For [b a] the tie at (2,2) steps i back, so the LCS
    // read out is "a" (index 0), not "b". Union {0}: 1 hit of 2 ref / 3 pred tokens.
    const s = rougeScore("a b", "b a\na");
    expect(s.rougeLsum.precision).toBe(1 / 3);
    expect(s.rougeLsum.recall).toBe(1 / 2);
    expect(s.rougeLsum.fmeasure).toBe(fmeasure(1 / 3, 1 / 2));
    expect(s.rougeL.fmeasure).toBe(fmeasure(1 / 3, 1 / 2)); // LCS("a b", "b a a") = 1
  });

  it("caps union-LCS hits by token counts on both sides", () => {
    // ref lines [a b] [a b]; pred line [a b]: each union is {a, b}, but pred has one a and one b
    const s = rougeScore("a b\na b", "a b");
    expect(s.rougeLsum.precision).toBe(1);
    expect(s.rougeLsum.recall).toBe(0.5);
  });

  it("keeps the first reference with the best fmeasure, per rouge type", () => {
    const s = rougeScore(["the cat", "a cat sat on the mat", "the cat"], "the cat sat");
    expect(s.rouge2).toEqual(rougeScore("the cat", "the cat sat").rouge2);
    expect(() => rougeScore([], "x")).toThrow(RangeError);
  });

  it("computes fmeasure as 2*p*r/(p+r) in that order", () => {
    const p = 0.1;
    const r = 0.7;
    expect(fmeasure(p, r)).toBe((2 * p * r) / (p + r));
    expect(fmeasure(0, 0)).toBe(0);
  });

  it("matches the naive rouge_score transcription on 434 cases (fixtures/rouge_golden.json)", () => {
    type Case = { reference: string | string[]; prediction: string; stem: boolean; scores: RougeScores };
    const cases: Case[] = JSON.parse(
      readFileSync(new URL("fixtures/rouge_golden.json", import.meta.url), "utf8"),
    );
    expect(cases.length).toBeGreaterThan(400);
    let worst = 0;
    for (const c of cases) {
      const got = rougeScore(c.reference, c.prediction, { stem: c.stem });
      for (const k of ["rouge1", "rouge2", "rougeL", "rougeLsum"] as const) {
        for (const m of ["precision", "recall", "fmeasure"] as const) {
          worst = Math.max(worst, Math.abs(got[k][m] - c.scores[k][m]));
        }
      }
    }
    expect(worst).toBe(0);
  });
});
