/**
 * Continuation bias: did the model continue the article instead of summarising it? Plus the
 * extractiveness diagnostics that put the flag in context.
 *
 * Tokens are ROUGE tokens without stemming (lowercase, every run outside [a-z0-9] separates), so
 * punctuation, quote style and no-break spaces never break a match.
 *
 * An output is flagged `continued` when any of these holds (all are reported, in this order):
 * - "copied-opening": its first `openingTokens` (8) tokens occur contiguously in the article. A
 *   summary may quote, but an output that *opens* by replaying article text is writing the article,
 *   not about it. `openingAt` says where in the article, so a consumer can tell a lead copy (0) from
 *   a replay of a later passage.
 * - "continues-article": it picks up where the article stops. Either it opens by repeating the
 *   article's last `echoTokens` (4) or more tokens, or the article (as given in the prompt, e.g. after
 *   truncation) stops mid-sentence and the output's first visible character is a lowercase letter or
 *   , ; : ) — the rest of that sentence, not a new one.
 * - "restates-prompt": it repeats the instruction (a run of min(`promptRun` (6), instruction length)
 *   instruction tokens that is absent from the article) or prints a prompt-template marker such as
 *   "### Article" or "<|user|>".
 * Empty outputs (no tokens) are never flagged; they are counted in `emptyRate` instead.
 *
 * Diagnostics per output: length in tokens; novel n-gram ratios (share of the output's 1/2/3-gram
 * occurrences absent from the article; null without n-grams); `longestCopy`, the longest run of output
 * tokens that occurs contiguously in the article; `copiedFraction`, the share of output tokens inside
 * some such run of at least `minCopyRun` (8) tokens (0 for an empty output). The last two reproduce
 * the table in shared/data/cnn_dailymail_sample/README.md.
 */
import { rougeTokenize } from "./tokenize.ts";

export type ContinuationReason = "copied-opening" | "continues-article" | "restates-prompt";
export const CONTINUATION_REASONS: readonly ContinuationReason[] = [
  "copied-opening",
  "continues-article",
  "restates-prompt",
];

export interface ContinuationInput {
  prediction: string;
  /** The article exactly as the model saw it (after any prompt truncation). */
  article: string;
  /** The instruction text of the prompt, if the check for restating it is wanted. */
  instruction?: string;
}

export interface ContinuationOptions {
  openingTokens?: number;
  echoTokens?: number;
  promptRun?: number;
  minCopyRun?: number;
  /** Raw substrings that only a restated prompt would contain. */
  promptMarkers?: readonly string[];
}

export interface ContinuationResult {
  continued: boolean;
  reasons: ContinuationReason[];
  /** Article token index where the copied opening starts (when "copied-opening"). */
  openingAt?: number;
  tokens: number;
  empty: boolean;
  novel1: number | null;
  novel2: number | null;
  novel3: number | null;
  longestCopy: number;
  copiedFraction: number;
}

export interface ContinuationReport {
  examples: ContinuationResult[];
  /** Share of outputs flagged `continued`. */
  rate: number;
  reasonRates: Record<ContinuationReason, number>;
  emptyRate: number;
  meanTokens: number;
  meanLongestCopy: number;
  meanCopiedFraction: number;
}

export const DEFAULT_PROMPT_MARKERS = ["### Instruction", "### Article", "<|user|>", "<|system|>", "[INST]"];

/** For each output position j, the longest run starting at j that occurs contiguously in `source`. */
export function matchLengths(out: readonly string[], source: readonly string[]): Int32Array {
  const n = out.length;
  const best = new Int32Array(n);
  let next = new Int32Array(n + 1); // run lengths for source position i+1
  let cur = new Int32Array(n + 1);
  for (let i = source.length - 1; i >= 0; i--) {
    const s = source[i];
    for (let j = n - 1; j >= 0; j--) {
      const len = out[j] === s ? next[j + 1] + 1 : 0;
      cur[j] = len;
      if (len > best[j]) best[j] = len;
    }
    [cur, next] = [next, cur];
  }
  return best;
}

/** Longest copied run and the share of output tokens inside runs of at least minRun tokens. */
export function copyStats(out: readonly string[], source: readonly string[], minRun = 8) {
  const runs = matchLengths(out, source);
  let longest = 0;
  let covered = 0;
  let reach = 0; // tokens before `reach` are inside a qualifying run
  for (let j = 0; j < out.length; j++) {
    if (runs[j] > longest) longest = runs[j];
    if (runs[j] >= minRun) reach = Math.max(reach, j + runs[j]);
    if (j < reach) covered++;
  }
  return { longestCopy: longest, copiedFraction: out.length ? covered / out.length : 0 };
}

function ngramSet(tokens: readonly string[], n: number): Set<string> {
  const s = new Set<string>();
  for (let i = 0; i + n <= tokens.length; i++) s.add(tokens.slice(i, i + n).join(" "));
  return s;
}

/** Share of the output's n-gram occurrences that never occur in the source; null if it has none. */
export function novelNgramRatio(out: readonly string[], source: readonly string[], n: number): number | null {
  const count = out.length - n + 1;
  if (count <= 0) return null;
  const seen = ngramSet(source, n);
  let novel = 0;
  for (let i = 0; i < count; i++) if (!seen.has(out.slice(i, i + n).join(" "))) novel++;
  return novel / count;
}

function indexOfRun(hay: readonly string[], needle: readonly string[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

/** The article stops inside a sentence: its last visible character is not . ! ? (or … ) possibly followed by closing quotes/brackets. */
function endsMidSentence(article: string): boolean {
  const t = article.trimEnd().replace(/["'’”)\]\u00bb]+$/u, "");
  return t.length > 0 && !/[.!?\u2026]$/u.test(t);
}

export function analyseOutput(ex: ContinuationInput, opts: ContinuationOptions = {}): ContinuationResult {
  const opening = opts.openingTokens ?? 8;
  const echo = opts.echoTokens ?? 4;
  const out = rougeTokenize(ex.prediction);
  const art = rougeTokenize(ex.article);
  const reasons: ContinuationReason[] = [];
  let openingAt: number | undefined;

  if (out.length >= opening) {
    const at = indexOfRun(art, out.slice(0, opening));
    if (at >= 0) {
      reasons.push("copied-opening");
      openingAt = at;
    }
  }

  if (out.length > 0) {
    let echoed = 0; // longest j >= echo with article's last j tokens == output's first j tokens
    for (let j = Math.min(out.length, art.length); j >= echo && echoed === 0; j--) {
      if (indexOfRun(out.slice(0, j), art.slice(art.length - j)) === 0) echoed = j;
    }
    const first = ex.prediction.trimStart()[0] ?? "";
    const resumes = /^[a-z,;:)]$/.test(first) && endsMidSentence(ex.article);
    if (echoed > 0 || resumes) reasons.push("continues-article");

    const markers = opts.promptMarkers ?? DEFAULT_PROMPT_MARKERS;
    let restates = markers.some((m) => ex.prediction.includes(m));
    if (!restates && ex.instruction) {
      const ins = rougeTokenize(ex.instruction);
      const run = Math.min(opts.promptRun ?? 6, ins.length);
      for (let i = 0; run > 0 && i + run <= ins.length && !restates; i++) {
        const piece = ins.slice(i, i + run);
        restates = indexOfRun(out, piece) >= 0 && indexOfRun(art, piece) < 0;
      }
    }
    if (restates) reasons.push("restates-prompt");
  }

  const copy = copyStats(out, art, opts.minCopyRun ?? 8);
  return {
    continued: reasons.length > 0,
    reasons,
    ...(openingAt !== undefined ? { openingAt } : {}),
    tokens: out.length,
    empty: out.length === 0,
    novel1: novelNgramRatio(out, art, 1),
    novel2: novelNgramRatio(out, art, 2),
    novel3: novelNgramRatio(out, art, 3),
    ...copy,
  };
}

/** Flag and diagnose every output; rates are shares of all outputs (empty ones included). */
export function continuationBias(
  examples: readonly ContinuationInput[],
  opts: ContinuationOptions = {},
): ContinuationReport {
  if (examples.length === 0) throw new RangeError("continuationBias needs at least one example");
  const results = examples.map((e) => analyseOutput(e, opts));
  const share = (f: (r: ContinuationResult) => boolean) => results.filter(f).length / results.length;
  const avg = (f: (r: ContinuationResult) => number) =>
    results.reduce((s, r) => s + f(r), 0) / results.length;
  return {
    examples: results,
    rate: share((r) => r.continued),
    reasonRates: Object.fromEntries(
      CONTINUATION_REASONS.map((k) => [k, share((r) => r.reasons.includes(k))]),
    ) as Record<ContinuationReason, number>,
    emptyRate: share((r) => r.empty),
    meanTokens: avg((r) => r.tokens),
    meanLongestCopy: avg((r) => r.longestCopy),
    meanCopiedFraction: avg((r) => r.copiedFraction),
  };
}
