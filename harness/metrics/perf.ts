/**
 * ROUGE throughput: score `pairs` synthetic (prediction ≈ 800-word article, reference ≈ 60-word
 * summary) pairs, once without and once with stemming, all four rouge types. The prediction is the
 * long side on purpose — the continuation case, and the one where LCS tables are biggest. Sentences
 * are newline-separated on both sides so rougeLsum does its full union-LCS work. Text generation is
 * not timed. Deterministic text from rngStream(seed, "rouge-perf").
 */
import { type Rng, rngStream } from "../rng.ts";
import { rougeScore } from "./rouge.ts";

export interface PerfFigure {
  pairs: number;
  seconds: number;
  pairs_per_s: number;
}

export interface RougePerf extends PerfFigure {
  plain: PerfFigure;
  stemmed: PerfFigure;
}

const SYLLABLES =
  "ba be bi bo bu ka ke ki ko ku la le li lo lu ma me mi mo mu na ne ni no nu ra re ri ro ru sa se si so st tr th ch sh".split(
    " ",
  );
const SUFFIXES = ["", "", "", "s", "ed", "ing", "ly", "ness", "ation", "ies", "ful", "er"];

/** A Zipf-ish vocabulary: words made of syllables plus English suffixes (so stemming has work to do). */
function vocabulary(rng: Rng, size: number): { words: string[]; cdf: Float64Array } {
  const words: string[] = ["the", "a", "of", "to", "in", "and", "said", "was", "on", "for"];
  while (words.length < size) {
    let w = "";
    const n = 1 + rng.int(3);
    for (let i = 0; i < n; i++) w += SYLLABLES[rng.int(SYLLABLES.length)];
    words.push(w + SUFFIXES[rng.int(SUFFIXES.length)]);
  }
  const cdf = new Float64Array(size);
  let acc = 0;
  for (let r = 0; r < size; r++) cdf[r] = acc += 1 / (r + 1) ** 1.1;
  for (let r = 0; r < size; r++) cdf[r] /= acc;
  return { words, cdf };
}

function pick(rng: Rng, v: { words: string[]; cdf: Float64Array }): string {
  const u = rng.next();
  let lo = 0;
  let hi = v.cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (v.cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return v.words[lo];
}

function sentence(rng: Rng, v: { words: string[]; cdf: Float64Array }, len: number): string[] {
  const s = Array.from({ length: len }, () => pick(rng, v));
  s[0] = s[0][0].toUpperCase() + s[0].slice(1);
  if (rng.next() < 0.3) s[rng.int(len)] += ",";
  if (rng.next() < 0.2) s[rng.int(len)] = String(rng.int(3000));
  return s;
}

/** ~800-word article (sentences on lines) and a ~60-word summary partly copied from it. */
export function syntheticPair(rng: Rng, v: { words: string[]; cdf: Float64Array }) {
  const sentences: string[][] = [];
  for (let words = 0; words < 800; ) {
    const s = sentence(rng, v, 12 + rng.int(20));
    sentences.push(s);
    words += s.length;
  }
  const summary: string[] = [];
  for (let words = 0; words < 60; ) {
    const src = sentences[rng.int(sentences.length)];
    const s = rng.next() < 0.5 ? src.slice(0, 8 + rng.int(12)) : sentence(rng, v, 10 + rng.int(10));
    summary.push(`${s.join(" ")}.`);
    words += s.length;
  }
  return { prediction: sentences.map((s) => `${s.join(" ")}.`).join("\n"), reference: summary.join("\n") };
}

function time(pairs: { prediction: string; reference: string }[], stem: boolean): PerfFigure {
  const t0 = performance.now();
  let sink = 0;
  for (const p of pairs) sink += rougeScore(p.reference, p.prediction, { stem }).rougeLsum.fmeasure;
  const seconds = (performance.now() - t0) / 1000;
  if (Number.isNaN(sink)) throw new Error("unreachable: NaN ROUGE");
  return { pairs: pairs.length, seconds, pairs_per_s: pairs.length / seconds };
}

/** Throughput of rougeScore over `pairs` pairs without and with stemming (text generation untimed). */
export function rougePerf(opts: { pairs?: number; seed?: number | string } = {}): RougePerf {
  const rng = rngStream(opts.seed ?? 0, "rouge-perf");
  const v = vocabulary(rng, 8000);
  const pairs = Array.from({ length: opts.pairs ?? 10_000 }, () => syntheticPair(rng, v));
  const plain = time(pairs, false);
  const stemmed = time(pairs, true);
  const seconds = plain.seconds + stemmed.seconds;
  const total = plain.pairs + stemmed.pairs;
  return { pairs: total, seconds, pairs_per_s: total / seconds, plain, stemmed };
}
