/**
 * The Porter stemmer as NLTK's `PorterStemmer()` runs it by default (mode NLTK_EXTENSIONS), which is
 * what rouge_score uses when `use_stemmer=True`. Written from the published rules plus NLTK's
 * documented departures; test/metrics/porter.test.ts checks it against NLTK's own output.
 *
 * NLTK departures from Porter (1980) reproduced here:
 * - a pool of irregular words answered directly (skies→sky, dying→die, news→news, …);
 * - words of 1–2 characters are returned unchanged;
 * - step 1a: a 4-letter word in "ies" becomes "…ie" (ties→tie), other "ies"→"i";
 * - step 1b: "ied" → "ie" for 4-letter words, else "i" (died→die, spied→spi);
 * - *o (cvc) also holds for a 2-letter vowel+consonant stem;
 * - step 1c: y→i only after a consonant that is not the stem's only letter (happy→happi, say→say);
 * - step 2: "alli"→"al" tried first and step 2 re-run; "bli"→"ble" (not "abli"); "fulli"→"ful";
 *   "logi"→"log" judged on the stem with its "l" (biology→biolog).
 */

/** Words NLTK answers from a table before running any rule. */
const POOL: ReadonlyMap<string, string> = new Map([
  ["sky", "sky"],
  ["skies", "sky"],
  ["dying", "die"],
  ["lying", "lie"],
  ["tying", "tie"],
  ["news", "news"],
  ["innings", "inning"],
  ["inning", "inning"],
  ["outings", "outing"],
  ["outing", "outing"],
  ["cannings", "canning"],
  ["canning", "canning"],
  ["howe", "howe"],
  ["proceed", "proceed"],
  ["exceed", "exceed"],
  ["succeed", "succeed"],
]);

function isVowelLetter(c: string): boolean {
  return c === "a" || c === "e" || c === "i" || c === "o" || c === "u";
}

/** Porter's consonant: not a vowel, and "y" only when it starts the word or follows a vowel. */
function isConsonant(w: string, i: number): boolean {
  const c = w[i];
  if (isVowelLetter(c)) return false;
  if (c === "y") return i === 0 || !isConsonant(w, i - 1);
  return true;
}

/** m in [C](VC)^m[V]: the number of vowel→consonant transitions. */
function measure(s: string): number {
  let m = 0;
  let prevVowel = false;
  for (let i = 0; i < s.length; i++) {
    const cons = isConsonant(s, i);
    if (cons && prevVowel) m++;
    prevVowel = !cons;
  }
  return m;
}

function hasVowel(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (!isConsonant(s, i)) return true;
  return false;
}

/** *d: ends in a double consonant. */
function endsDoubleConsonant(s: string): boolean {
  const n = s.length;
  return n >= 2 && s[n - 1] === s[n - 2] && isConsonant(s, n - 1);
}

/** *o: ends consonant-vowel-consonant, the last not w/x/y; NLTK also accepts a 2-letter "vc" word. */
function endsCvc(s: string): boolean {
  const n = s.length;
  if (n >= 3) {
    const last = s[n - 1];
    if (
      isConsonant(s, n - 3) &&
      !isConsonant(s, n - 2) &&
      isConsonant(s, n - 1) &&
      last !== "w" &&
      last !== "x" &&
      last !== "y"
    )
      return true;
  }
  return n === 2 && !isConsonant(s, 0) && isConsonant(s, 1);
}

type Rule = readonly [suffix: string, replacement: string, ok: (stem: string) => boolean];

/**
 * Porter's rule lists: the FIRST rule whose suffix matches decides. If its condition fails the word
 * is returned unchanged and later rules are not tried (so "…ement" failing never falls to "…ment").
 */
function applyRules(word: string, rules: readonly Rule[]): string {
  for (const [suffix, replacement, ok] of rules) {
    if (word.endsWith(suffix)) {
      const stem = word.slice(0, word.length - suffix.length);
      return ok(stem) ? stem + replacement : word;
    }
  }
  return word;
}

const always = () => true;
const m0 = (s: string) => measure(s) > 0;
const m1 = (s: string) => measure(s) > 1;

function step1a(w: string): string {
  if (w.length === 4 && w.endsWith("ies")) return `${w.slice(0, 1)}ie`;
  return applyRules(w, [
    ["sses", "ss", always],
    ["ies", "i", always],
    ["ss", "ss", always],
    ["s", "", always],
  ]);
}

function step1b(w: string): string {
  if (w.endsWith("ied")) return w.length === 4 ? `${w.slice(0, 1)}ie` : `${w.slice(0, -3)}i`;
  if (w.endsWith("eed")) {
    const stem = w.slice(0, -3);
    return measure(stem) > 0 ? `${stem}ee` : w;
  }
  let s: string;
  if (w.endsWith("ed") && hasVowel(w.slice(0, -2))) s = w.slice(0, -2);
  else if (w.endsWith("ing") && hasVowel(w.slice(0, -3))) s = w.slice(0, -3);
  else return w;
  // Tidy-up after removing -ed/-ing; again the first matching case decides.
  if (s.endsWith("at") || s.endsWith("bl") || s.endsWith("iz")) return `${s}e`;
  if (endsDoubleConsonant(s)) {
    const last = s[s.length - 1];
    return last === "l" || last === "s" || last === "z" ? s : s.slice(0, -1);
  }
  return measure(s) === 1 && endsCvc(s) ? `${s}e` : s;
}

function step1c(w: string): string {
  // NLTK: (*c and not c) Y -> I, i.e. the y follows a consonant that is not the whole stem.
  return applyRules(w, [["y", "i", (s) => s.length > 1 && isConsonant(s, s.length - 1)]]);
}

const STEP2: readonly Rule[] = [
  ["ational", "ate", m0],
  ["tional", "tion", m0],
  ["enci", "ence", m0],
  ["anci", "ance", m0],
  ["izer", "ize", m0],
  ["bli", "ble", m0],
  ["alli", "al", m0],
  ["entli", "ent", m0],
  ["eli", "e", m0],
  ["ousli", "ous", m0],
  ["ization", "ize", m0],
  ["ation", "ate", m0],
  ["ator", "ate", m0],
  ["alism", "al", m0],
  ["iveness", "ive", m0],
  ["fulness", "ful", m0],
  ["ousness", "ous", m0],
  ["aliti", "al", m0],
  ["iviti", "ive", m0],
  ["biliti", "ble", m0],
  ["fulli", "ful", m0],
  // The "l" of "logi" counts with the stem, so geo-logi / theo-logi qualify.
  ["logi", "log", (s) => m0(`${s}l`)],
];

function step2(w: string): string {
  if (w.endsWith("alli") && m0(w.slice(0, -4))) return step2(`${w.slice(0, -4)}al`);
  return applyRules(w, STEP2);
}

const STEP3: readonly Rule[] = [
  ["icate", "ic", m0],
  ["ative", "", m0],
  ["alize", "al", m0],
  ["iciti", "ic", m0],
  ["ical", "ic", m0],
  ["ful", "", m0],
  ["ness", "", m0],
];

const STEP4: readonly Rule[] = [
  ["al", "", m1],
  ["ance", "", m1],
  ["ence", "", m1],
  ["er", "", m1],
  ["ic", "", m1],
  ["able", "", m1],
  ["ible", "", m1],
  ["ant", "", m1],
  ["ement", "", m1],
  ["ment", "", m1],
  ["ent", "", m1],
  ["ion", "", (s) => m1(s) && (s.endsWith("s") || s.endsWith("t"))],
  ["ou", "", m1],
  ["ism", "", m1],
  ["ate", "", m1],
  ["iti", "", m1],
  ["ous", "", m1],
  ["ive", "", m1],
  ["ize", "", m1],
];

function step5a(w: string): string {
  if (!w.endsWith("e")) return w;
  const s = w.slice(0, -1);
  const m = measure(s);
  return m > 1 || (m === 1 && !endsCvc(s)) ? s : w;
}

function step5b(w: string): string {
  // (m>1 and *d and *L) -> single letter; m is taken on the word less one "l".
  return w.endsWith("ll") && m1(w.slice(0, -1)) ? w.slice(0, -1) : w;
}

/**
 * NLTK `PorterStemmer().stem(word)` (default NLTK_EXTENSIONS mode, lowercasing on). Like NLTK, the
 * pool and the length test look at the word as given (so "Skies" is stemmed by rule, not the pool).
 */
export function porterStem(word: string): string {
  const pooled = POOL.get(word);
  if (pooled !== undefined) return pooled;
  const w = word.toLowerCase();
  if (word.length <= 2) return w;
  const s = step2(step1c(step1b(step1a(w))));
  return step5b(step5a(applyRules(applyRules(s, STEP3), STEP4)));
}

const stemMemo = new Map<string, string>();

/** porterStem with a memo: corpora repeat words, and stemming dominates ROUGE-with-stemming time. */
export function porterStemCached(word: string): string {
  let s = stemMemo.get(word);
  if (s === undefined) {
    s = porterStem(word);
    if (stemMemo.size > 1_000_000) stemMemo.clear(); // bound memory on endless vocabularies
    stemMemo.set(word, s);
  }
  return s;
}
