/**
 * A Llama-style (SentencePiece-like) byte-fallback BPE: training on a corpus, a reference encoder,
 * and the tokenizer.json that @huggingface/tokenizers loads. The structure copies Llama 2 /
 * TinyLlama's tokenizer.json: no pre-tokenizer, normalizer Prepend("▁") + Replace(" ", "▁"),
 * byte_fallback and fuse_unk, decoder Replace + ByteFallback + Fuse + Strip.
 */

export const SPACE = "\u2581"; // "▁"
export const SPECIALS = ["<unk>", "<s>", "</s>"] as const;

export const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;

/** The normalizer: what the model sees. */
export function normalize(text: string): string {
  return text === "" ? "" : SPACE + text.replaceAll(" ", SPACE);
}

const isDigit = (s: string) => /\p{Nd}/u.test(s);

export interface BpeModel {
  vocab: Map<string, number>;
  /** Merges in rank order (rank = index). */
  merges: [string, string][];
}

/**
 * Learn merges: words are maximal runs that start at "▁" and contain only alphabet characters,
 * so no piece spans a word boundary (as SentencePiece). Digits never merge (Llama splits numbers
 * into digits). Most frequent pair first; ties broken by the pair's text so training is deterministic.
 */
export function trainBpe(
  texts: Iterable<string>,
  opts: { vocabSize: number; minCharCount?: number; alwaysChars?: string },
): BpeModel {
  const charCount = new Map<string, number>();
  const norm: string[] = [];
  for (const t of texts) {
    const n = normalize(t);
    norm.push(n);
    for (const c of n) charCount.set(c, (charCount.get(c) ?? 0) + 1);
  }
  // Control characters (newline, tab) stay byte-fallback like in Llama's vocabulary.
  const alphabet = new Set<string>([...(opts.alwaysChars ?? "")]);
  for (const [c, k] of charCount) if (k >= (opts.minCharCount ?? 20) && !/\p{Cc}/u.test(c)) alphabet.add(c);
  alphabet.add(SPACE);

  const vocab = new Map<string, number>();
  for (const s of SPECIALS) vocab.set(s, vocab.size);
  for (let b = 0; b < 256; b++) vocab.set(byteToken(b), vocab.size);
  const reserved = new Set(vocab.keys());
  for (const c of [...alphabet].sort()) if (!vocab.has(c)) vocab.set(c, vocab.size);

  const wordFreq = new Map<string, number>();
  for (const n of norm) {
    let cur = "";
    for (const c of n) {
      if (c === SPACE || !alphabet.has(c)) {
        if (cur) wordFreq.set(cur, (wordFreq.get(cur) ?? 0) + 1);
        cur = alphabet.has(c) ? c : "";
      } else cur += c;
    }
    if (cur) wordFreq.set(cur, (wordFreq.get(cur) ?? 0) + 1);
  }
  const words = [...wordFreq].map(([w, f]) => ({ syms: [...w], f }));
  const merges: [string, string][] = [];
  while (vocab.size < opts.vocabSize) {
    const counts = new Map<string, number>();
    for (const { syms, f } of words) {
      for (let i = 0; i + 1 < syms.length; i++) {
        if (isDigit(syms[i]) || isDigit(syms[i + 1])) continue;
        const key = `${syms[i]} ${syms[i + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + f);
      }
    }
    let best = "";
    let bestCount = 0;
    for (const [k, c] of counts) {
      if (reserved.has(k.replace(" ", ""))) continue; // never shadow "<s>" or "<0x41>"
      if (c > bestCount || (c === bestCount && k < best)) {
        best = k;
        bestCount = c;
      }
    }
    if (bestCount < 2) break; // nothing left worth merging
    const [a, b] = best.split(" ") as [string, string];
    const merged = a + b;
    merges.push([a, b]);
    if (!vocab.has(merged)) vocab.set(merged, vocab.size);
    for (const w of words) {
      const s = w.syms;
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === a && s[i + 1] === b) s.splice(i, 2, merged);
      }
    }
  }
  return { vocab, merges };
}

const rankCache = new WeakMap<BpeModel, Map<string, number>>();
function ranksOf(model: BpeModel): Map<string, number> {
  let r = rankCache.get(model);
  if (!r) {
    // Training never emits a pair twice (once merged, it cannot reappear), so ranks are unique.
    r = new Map(model.merges.map(([a, b], i) => [`${a} ${b}`, i]));
    rankCache.set(model, r);
  }
  return r;
}

/**
 * Reference encoder, written independently of @huggingface/tokenizers: repeatedly merge the
 * lowest-rank adjacent pair (leftmost on ties), then map symbols to ids, falling back to UTF-8
 * byte tokens for characters outside the vocabulary. No special tokens are added. Text is cut
 * before each "▁" first: no merge has "▁" in its right half, so no merge spans a cut.
 */
export function referenceEncode(model: BpeModel, text: string): number[] {
  const ids: number[] = [];
  for (const word of normalize(text).split(/(?=\u2581)/u)) ids.push(...encodeWord(model, word));
  return ids;
}

const wordCache = new WeakMap<BpeModel, Map<string, number[]>>();
function encodeWord(model: BpeModel, word: string): number[] {
  let cache = wordCache.get(model);
  if (!cache) {
    cache = new Map();
    wordCache.set(model, cache);
  }
  const hit = cache.get(word);
  if (hit) return hit;
  const ranks = ranksOf(model);
  const syms = [...word];
  for (;;) {
    let best = -1;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const r = ranks.get(`${syms[i]} ${syms[i + 1]}`);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = i;
      }
    }
    if (best < 0) break;
    syms.splice(best, 2, syms[best] + syms[best + 1]);
  }
  const ids: number[] = [];
  for (const s of syms) {
    const id = model.vocab.get(s);
    if (id !== undefined) ids.push(id);
    else for (const b of new TextEncoder().encode(s)) ids.push(model.vocab.get(byteToken(b))!);
  }
  cache.set(word, ids);
  return ids;
}

/** tokenizer.json in the layout of Llama 2 / TinyLlama's (HF tokenizers "1.0"). */
export function tokenizerJson(model: BpeModel): object {
  const special = (content: string) => ({
    id: model.vocab.get(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  });
  const bos = { SpecialToken: { id: "<s>", type_id: 0 } };
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: SPECIALS.map(special),
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Prepend", prepend: SPACE },
        { type: "Replace", pattern: { String: " " }, content: SPACE },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: "TemplateProcessing",
      single: [bos, { Sequence: { id: "A", type_id: 0 } }],
      pair: [
        bos,
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "<s>", type_id: 1 } },
        { Sequence: { id: "B", type_id: 1 } },
      ],
      special_tokens: { "<s>": { id: "<s>", ids: [model.vocab.get("<s>")], tokens: ["<s>"] } },
    },
    decoder: {
      type: "Sequence",
      decoders: [
        { type: "Replace", pattern: { String: SPACE }, content: " " },
        { type: "ByteFallback" },
        { type: "Fuse" },
        { type: "Strip", content: " ", start: 1, stop: 0 },
      ],
    },
    model: {
      type: "BPE",
      dropout: null,
      unk_token: "<unk>",
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab: Object.fromEntries(model.vocab),
      merges: model.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
}

/** Read a model back from tokenizer.json (for the reference encoder in tests). */
export function modelFromJson(json: {
  model: { vocab: Record<string, number>; merges: (string | string[])[] };
}): BpeModel {
  return {
    vocab: new Map(Object.entries(json.model.vocab)),
    merges: json.model.merges.map((m) =>
      Array.isArray(m) ? [m[0], m[1]] : (m.split(" ", 2) as [string, string]),
    ),
  };
}
