/**
 * rouge_score's default tokenizer (rouge_score/tokenize.py):
 *   lowercase (Unicode, like Python's str.lower) → every run of characters outside [a-z0-9] becomes a
 *   space → split on whitespace → with stemming, Porter-stem tokens longer than 3 characters →
 *   drop empty tokens.
 * After the substitution a token is exactly a maximal run of [a-z0-9], so we scan for runs instead of
 * running three regexes. Non-ASCII letters are separators ("café" → "caf"), except where lowercasing
 * yields ASCII (Kelvin sign "K" → "k", "İ" → "i" + U+0307) — Python and JS both use Unicode's full
 * lowercase mapping, so they agree.
 */
import { porterStemCached } from "./porter.ts";

function isTokenChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 48 && c <= 57);
}

/** Visit each raw (unstemmed) token of `text` in order. */
function eachRun(text: string, visit: (token: string) => void): void {
  const s = text.toLowerCase();
  let start = -1;
  for (let i = 0; i <= s.length; i++) {
    const inToken = i < s.length && isTokenChar(s.charCodeAt(i));
    if (inToken) {
      if (start < 0) start = i;
    } else if (start >= 0) {
      visit(s.slice(start, i));
      start = -1;
    }
  }
}

/** The tokens rouge_score scores (`tokenize.tokenize(text, stemmer)`). */
export function rougeTokenize(text: string, stem = false): string[] {
  const out: string[] = [];
  eachRun(text, (t) => out.push(stem && t.length > 3 ? porterStemCached(t) : t));
  return out;
}

/**
 * Tokens as small integers, so n-gram keys and LCS comparisons are integer work. One process-wide
 * vocabulary: ids only need to be equal for equal tokens within one comparison.
 */
const vocab = new Map<string, number>();
/** raw token → id of its stem (stemming and interning memoised together). */
const stemmedVocab = new Map<string, number>();

/** Bigram keys pack two ids into one exact double: a * 2^26 + b < 2^52. */
export const MAX_VOCAB = 1 << 26;

/** Number of distinct token ids handed out so far (ids are 0 … vocabSize()-1). */
export function vocabSize(): number {
  return vocab.size;
}

function intern(token: string): number {
  let id = vocab.get(token);
  if (id === undefined) {
    id = vocab.size;
    if (id >= MAX_VOCAB) throw new RangeError("ROUGE vocabulary exceeds 2^26 distinct tokens");
    vocab.set(token, id);
  }
  return id;
}

function internStemmed(token: string): number {
  let id = stemmedVocab.get(token);
  if (id === undefined) {
    id = intern(porterStemCached(token));
    stemmedVocab.set(token, id);
  }
  return id;
}

const RUN = /[a-z0-9]+/g;

/** Token ids of `text`, the same sequence as rougeTokenize(text, stem) after interning. */
export function rougeTokenIds(text: string, stem = false): Int32Array {
  // The same runs as eachRun, found by the regex engine (faster than a char loop plus slices).
  const runs = text.toLowerCase().match(RUN);
  if (runs === null) return new Int32Array(0);
  const ids = new Int32Array(runs.length);
  for (let i = 0; i < runs.length; i++) {
    const t = runs[i];
    ids[i] = stem && t.length > 3 ? internStemmed(t) : intern(t);
  }
  return ids;
}
