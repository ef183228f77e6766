/**
 * ROUGE-1/2/L/Lsum with the semantics of Google's rouge_score (rouge_scorer.py), which Hugging Face
 * `evaluate.load("rouge")` wraps. Parity is to the bit: same token sequences, same integer counts,
 * same float operations (p = hits/len(pred), r = hits/len(ref), f = 2*p*r/(p+r)).
 *
 * Behaviours that are easy to get wrong and are reproduced on purpose:
 * - n-gram precision/recall divide by max(count, 1), so empty texts score 0, not NaN;
 * - rougeL is 0 when either side has no tokens;
 * - rougeLsum splits both texts on "\n" only (rouge_score adds no newlines; evaluate passes text as-is),
 *   drops empty lines, takes the union LCS of each reference line against every prediction line, and
 *   counts each token at most as often as it occurs on either side (ROUGE 1.5.5's double-count guard);
 * - the LCS read-out breaks ties like rouge_score's _backtrack_norec (on a mismatch it steps back in
 *   the prediction only when table[i][j-1] > table[i-1][j], else in the reference), which decides
 *   which reference tokens enter the union (lcs.ts);
 * - several references: score each, keep per rouge type the first with the highest fmeasure
 *   (score_multi's np.argmax).
 */
import { lcsLength, unionLcsMarks } from "./lcs.ts";
import { rougeTokenIds, vocabSize } from "./tokenize.ts";

export const ROUGE_TYPES = ["rouge1", "rouge2", "rougeL", "rougeLsum"] as const;
export type RougeType = (typeof ROUGE_TYPES)[number];

export interface Score {
  precision: number;
  recall: number;
  fmeasure: number;
}
export type RougeScores = Record<RougeType, Score>;

export interface RougeOptions {
  /** Porter-stem tokens longer than 3 characters (evaluate's `use_stemmer`; its default is false). */
  stem?: boolean;
}

export interface RougePair {
  prediction: string;
  /** One reference, or several (best per rouge type by fmeasure). */
  reference: string | readonly string[];
}

/** scoring.fmeasure, in the same order of floating-point operations. */
export function fmeasure(precision: number, recall: number): number {
  return precision + recall > 0 ? (2 * precision * recall) / (precision + recall) : 0;
}

function score(hits: number, predCount: number, refCount: number): Score {
  const precision = hits / predCount;
  const recall = hits / refCount;
  return { precision, recall, fmeasure: fmeasure(precision, recall) };
}

const ZERO: Readonly<Score> = Object.freeze({ precision: 0, recall: 0, fmeasure: 0 });

/** A text tokenized once for every rouge type: per-line ids, and their concatenation. */
interface Prepared {
  tokens: Int32Array;
  lines: Int32Array[];
}

function prepare(text: string, stem: boolean): Prepared {
  // A token never spans "\n", so the whole text's tokens are the lines' tokens in order.
  const lines = text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => rougeTokenIds(l, stem));
  let n = 0;
  for (const l of lines) n += l.length;
  const tokens = new Int32Array(n);
  n = 0;
  for (const l of lines) {
    tokens.set(l, n);
    n += l.length;
  }
  return { tokens, lines };
}

/** Per-token-id scratch counters (zero between calls). */
let countA = new Int32Array(1024);
let countB = new Int32Array(1024);

function ensureCounters(): void {
  const need = vocabSize();
  if (countA.length < need) {
    countA = new Int32Array(Math.max(need, countA.length * 2));
    countB = new Int32Array(countA.length);
  }
}

function ngramKey(t: Int32Array, i: number, n: number): number | string {
  if (n === 2) return t[i] * 67108864 + t[i + 1]; // exact: ids < 2^26 (tokenize.ts)
  return t.subarray(i, i + n).join(",");
}

/** _score_ngrams: clipped n-gram overlap (Counter intersection). */
export function ngramScore(ref: Int32Array, pred: Int32Array, n: number): Score {
  const refCount = Math.max(ref.length - n + 1, 0);
  const predCount = Math.max(pred.length - n + 1, 0);
  ensureCounters();
  const inRef = countA;
  for (let i = 0; i < refCount; i++) inRef[ref[i]]++; // first tokens of the reference n-grams
  let hits = 0;
  if (n === 1) {
    for (let i = 0; i < predCount; i++) {
      if (inRef[pred[i]] > 0) {
        hits++;
        inRef[pred[i]]--;
      }
    }
  } else {
    const left = new Map<number | string, number>();
    for (let i = 0; i < refCount; i++) {
      const k = ngramKey(ref, i, n);
      left.set(k, (left.get(k) ?? 0) + 1);
    }
    for (let i = 0; i < predCount; i++) {
      if (inRef[pred[i]] === 0) continue; // cannot match: skip building the key
      const k = ngramKey(pred, i, n);
      const c = left.get(k);
      if (c) {
        hits++;
        left.set(k, c - 1);
      }
    }
  }
  for (let i = 0; i < refCount; i++) inRef[ref[i]] = 0;
  return score(hits, Math.max(predCount, 1), Math.max(refCount, 1));
}

/** _score_lcs */
export function lcsScore(ref: Int32Array, pred: Int32Array): Score {
  if (ref.length === 0 || pred.length === 0) return { ...ZERO };
  return score(lcsLength(ref, pred), pred.length, ref.length);
}

/** _summary_level_lcs: union LCS per reference line, each token counted at most as often as it occurs. */
export function summaryLcsScore(refLines: Int32Array[], predLines: Int32Array[]): Score {
  if (refLines.length === 0 || predLines.length === 0) return { ...ZERO };
  let m = 0;
  let n = 0;
  for (const l of refLines) m += l.length;
  for (const l of predLines) n += l.length;
  if (m === 0 || n === 0) return { ...ZERO };
  ensureCounters();
  const leftRef = countA;
  const leftPred = countB;
  for (const l of refLines) for (const t of l) leftRef[t]++;
  for (const l of predLines) for (const t of l) leftPred[t]++;
  let hits = 0;
  for (const r of refLines) {
    const marks = new Uint8Array(r.length); // the union, as a sorted set of reference positions
    unionLcsMarks(r, predLines, marks);
    for (let i = 0; i < r.length; i++) {
      const tok = r[i];
      if (marks[i] && leftPred[tok] > 0 && leftRef[tok] > 0) {
        hits++;
        leftPred[tok]--;
        leftRef[tok]--;
      }
    }
  }
  for (const l of refLines) for (const t of l) leftRef[t] = 0;
  for (const l of predLines) for (const t of l) leftPred[t] = 0;
  return score(hits, n, m);
}

function scorePrepared(ref: Prepared, pred: Prepared): RougeScores {
  return {
    rouge1: ngramScore(ref.tokens, pred.tokens, 1),
    rouge2: ngramScore(ref.tokens, pred.tokens, 2),
    rougeL: lcsScore(ref.tokens, pred.tokens),
    rougeLsum: summaryLcsScore(ref.lines, pred.lines),
  };
}

/** rouge_score `RougeScorer([...4 types], use_stemmer).score(ref, pred)` / `.score_multi(refs, pred)`. */
export function rougeScore(
  reference: string | readonly string[],
  prediction: string,
  opts: RougeOptions = {},
): RougeScores {
  const stem = opts.stem ?? false;
  const refs = typeof reference === "string" ? [reference] : reference;
  if (refs.length === 0) throw new RangeError("rougeScore needs at least one reference");
  const pred = prepare(prediction, stem);
  let best: RougeScores | undefined;
  for (const r of refs) {
    const s = scorePrepared(prepare(r, stem), pred);
    if (best === undefined) best = s;
    else for (const k of ROUGE_TYPES) if (s[k].fmeasure > best[k].fmeasure) best[k] = s[k];
  }
  return best as RougeScores;
}

/** Score many pairs, in order. */
export function rougeScoreAll(pairs: readonly RougePair[], opts: RougeOptions = {}): RougeScores[] {
  return pairs.map((p) => rougeScore(p.reference, p.prediction, opts));
}
