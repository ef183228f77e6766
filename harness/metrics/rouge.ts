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
 * - the LCS read-out breaks ties like rouge_score's _backtrack_norec, which decides which reference
 *   tokens enter the union (see lcsMarks);
 * - several references: score each, keep per rouge type the first with the highest fmeasure
 *   (score_multi's np.argmax).
 */
import { rougeTokenIds } from "./tokenize.ts";

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

/** A text tokenized once for every rouge type: whole-text ids and per-line ids. */
interface Prepared {
  tokens: Int32Array;
  lines: Int32Array[];
}

function prepare(text: string, stem: boolean): Prepared {
  const lines = text
    .split("\n")
    .filter((l) => l.length > 0)
    .map((l) => rougeTokenIds(l, stem));
  return { tokens: rougeTokenIds(text, stem), lines };
}

function ngramKey(t: Int32Array, i: number, n: number): number | string {
  if (n === 1) return t[i];
  if (n === 2) return t[i] * 67108864 + t[i + 1]; // ids < 2^26 (tokenize.ts)
  return t.subarray(i, i + n).join(",");
}

/** _score_ngrams: clipped n-gram overlap (Counter intersection). */
export function ngramScore(ref: Int32Array, pred: Int32Array, n: number): Score {
  const refCount = Math.max(ref.length - n + 1, 0);
  const predCount = Math.max(pred.length - n + 1, 0);
  const left = new Map<number | string, number>();
  for (let i = 0; i < refCount; i++) {
    const k = ngramKey(ref, i, n);
    left.set(k, (left.get(k) ?? 0) + 1);
  }
  let hits = 0;
  for (let i = 0; i < predCount; i++) {
    const k = ngramKey(pred, i, n);
    const c = left.get(k);
    if (c) {
      hits++;
      left.set(k, c - 1);
    }
  }
  return score(hits, Math.max(predCount, 1), Math.max(refCount, 1));
}

let row = new Int32Array(0);

/** LCS length with one DP row (the table's values, without keeping the table). */
export function lcsLength(a: Int32Array, b: Int32Array): number {
  if (row.length < b.length + 1) row = new Int32Array(b.length + 1);
  row.fill(0, 0, b.length + 1);
  for (let i = 0; i < a.length; i++) {
    const ai = a[i];
    let diag = 0; // table[i-1][j-1]
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = ai === b[j - 1] ? diag + 1 : Math.max(up, row[j - 1]);
      diag = up;
    }
  }
  return row[b.length];
}

/** _score_lcs */
export function lcsScore(ref: Int32Array, pred: Int32Array): Score {
  if (ref.length === 0 || pred.length === 0) return { ...ZERO };
  return score(lcsLength(ref, pred), pred.length, ref.length);
}

let table = new Int32Array(0);

/**
 * Mark in `marks` the reference positions of one LCS of ref and can, read out exactly like
 * rouge_score's _backtrack_norec: from the end, take a match when the tokens are equal; otherwise
 * step back in the candidate only when table[i][j-1] > table[i-1][j], else step back in the reference
 * (ties step back in the reference).
 */
function lcsMarks(ref: Int32Array, can: Int32Array, marks: Uint8Array): void {
  const rows = ref.length;
  const cols = can.length;
  if (rows === 0 || cols === 0) return;
  const w = cols + 1;
  if (table.length < (rows + 1) * w) table = new Int32Array((rows + 1) * w);
  const t = table;
  t.fill(0, 0, w);
  for (let i = 1; i <= rows; i++) {
    const r = ref[i - 1];
    const at = i * w;
    const above = at - w;
    t[at] = 0;
    for (let j = 1; j <= cols; j++) {
      t[at + j] = r === can[j - 1] ? t[above + j - 1] + 1 : Math.max(t[above + j], t[at + j - 1]);
    }
  }
  let i = rows;
  let j = cols;
  while (i > 0 && j > 0) {
    if (ref[i - 1] === can[j - 1]) {
      marks[i - 1] = 1;
      i--;
      j--;
    } else if (t[i * w + j - 1] > t[(i - 1) * w + j]) j--;
    else i--;
  }
}

function countTokens(lines: Int32Array[]): Map<number, number> {
  const counts = new Map<number, number>();
  for (const l of lines) for (const t of l) counts.set(t, (counts.get(t) ?? 0) + 1);
  return counts;
}

/** _summary_level_lcs: union LCS per reference line, each token counted at most as often as it occurs. */
export function summaryLcsScore(refLines: Int32Array[], predLines: Int32Array[]): Score {
  if (refLines.length === 0 || predLines.length === 0) return { ...ZERO };
  let m = 0;
  let n = 0;
  for (const l of refLines) m += l.length;
  for (const l of predLines) n += l.length;
  if (m === 0 || n === 0) return { ...ZERO };
  const leftRef = countTokens(refLines);
  const leftPred = countTokens(predLines);
  let hits = 0;
  for (const r of refLines) {
    const marks = new Uint8Array(r.length); // the union, as a sorted set of reference positions
    for (const c of predLines) lcsMarks(r, c, marks);
    for (let i = 0; i < r.length; i++) {
      if (!marks[i]) continue;
      const tok = r[i];
      const cp = leftPred.get(tok) ?? 0;
      const cr = leftRef.get(tok) ?? 0;
      if (cp > 0 && cr > 0) {
        hits++;
        leftPred.set(tok, cp - 1);
        leftRef.set(tok, cr - 1);
      }
    }
  }
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
