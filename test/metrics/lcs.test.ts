import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { lcsLength, unionLcsMarks } from "../../harness/metrics/lcs.ts";
import { rougeTokenIds } from "../../harness/metrics/tokenize.ts";

/** rouge_score's _lcs_table + _backtrack_norec, transcribed naively: the oracle. */
function naiveTable(ref: ArrayLike<number>, can: ArrayLike<number>): number[][] {
  const t = Array.from({ length: ref.length + 1 }, () => new Array<number>(can.length + 1).fill(0));
  for (let i = 1; i <= ref.length; i++) {
    for (let j = 1; j <= can.length; j++) {
      t[i][j] = ref[i - 1] === can[j - 1] ? t[i - 1][j - 1] + 1 : Math.max(t[i - 1][j], t[i][j - 1]);
    }
  }
  return t;
}

function naiveBacktrack(ref: ArrayLike<number>, can: ArrayLike<number>): number[] {
  const t = naiveTable(ref, can);
  let i = ref.length;
  let j = can.length;
  const lcs: number[] = [];
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      lcs.unshift(i - 1);
      i--;
      j--;
    } else if (t[i][j - 1] > t[i - 1][j]) j--;
    else i--;
  }
  return lcs;
}

const ids = rougeTokenIds("a b c d e"); // intern a small alphabet
const seq = (max: number, alphabet: number) =>
  fc
    .array(fc.integer({ min: 0, max: alphabet - 1 }), { maxLength: max })
    .map((xs) => Int32Array.from(xs, (x) => ids[x]));

describe("bit-parallel LCS", () => {
  it("has the DP's length (sequences up to 100 tokens, several 32-bit words)", () => {
    fc.assert(
      fc.property(seq(100, 3), seq(100, 3), (a, b) => {
        const t = naiveTable(a, b);
        expect(lcsLength(a, b)).toBe(t[a.length][b.length]);
      }),
      { numRuns: 300 },
    );
  });

  it("reads out the same union LCS as rouge_score's backtrack, ties included", () => {
    fc.assert(
      fc.property(seq(80, 4), fc.array(seq(40, 4), { maxLength: 4 }), (ref, cands) => {
        const marks = new Uint8Array(ref.length);
        unionLcsMarks(ref, cands, marks);
        const want = new Set(cands.flatMap((c) => naiveBacktrack(ref, c)));
        const got = new Set([...marks.keys()].filter((i) => marks[i]));
        expect([...got].sort((x, y) => x - y)).toEqual([...want].sort((x, y) => x - y));
      }),
      { numRuns: 400 },
    );
  });

  it("handles the tie case by stepping back in the reference", () => {
    const [a, b] = rougeTokenIds("a b");
    const marks = new Uint8Array(2);
    unionLcsMarks(Int32Array.of(a, b), [Int32Array.of(b, a)], marks);
    expect(Array.from(marks)).toEqual([1, 0]);
  });
});
