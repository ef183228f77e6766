import type { NewsRecord } from "./records.ts";
import type { Tok } from "./tokenizer.ts";

/** The zero-shot instruction; the article follows after a blank line inside the same user turn. */
export const DEFAULT_INSTRUCTION = "Summarize the following news article in three or four sentences.";
/** Article tokens kept in the prompt; the instruction and chat markers come on top. */
export const DEFAULT_ARTICLE_TOKEN_BUDGET = 512;
export const IGNORE_INDEX = -100;

export interface PromptOptions {
  instruction?: string;
  articleTokenBudget?: number;
}

export interface SummaryPrompt {
  promptIds: number[];
  promptText: string;
  /** Article tokens cut off to fit the budget (0 when it fit). */
  truncatedTokens: number;
  /** What built the prompt, for the run record. */
  meta: { template: "chat"; instruction: string; articleTokenBudget: number; articleTokens: number };
}

/**
 * First `budget` tokens of the article, decoded back to text. Counted on the article encoded alone
 * (with Llama's leading "▁"), so inside the prompt the count can differ by one at the start.
 * A cut inside a multi-byte character would decode to U+FFFD, so the cut moves back to a whole one.
 */
export function truncateToTokens(
  tok: Tok,
  text: string,
  budget: number,
): { text: string; truncated: number; total: number } {
  const ids = tok.encode(text, { addSpecialTokens: false });
  if (ids.length <= budget) return { text, truncated: 0, total: ids.length };
  let k = budget;
  let out = tok.decode(ids.slice(0, k), { skipSpecialTokens: true });
  while (k > 0 && out.endsWith("\uFFFD") && !text.startsWith(out)) {
    k -= 1;
    out = tok.decode(ids.slice(0, k), { skipSpecialTokens: true });
  }
  return { text: out, truncated: ids.length - k, total: ids.length };
}

/**
 * Ids of text rendered by a chat template. BOS comes from the tokenizer (add_bos_token), as in
 * TinyLlama's pipeline(tokenizer(prompt)), unless the template wrote it itself (Gemma's starts with
 * "<bos>"): then the tokenizer's would be a second one, which transformers avoids too.
 */
export function encodeRendered(tok: Tok, text: string): number[] {
  const ids = tok.encode(text, { addSpecialTokens: true });
  return ids.length > 1 && ids[0] === tok.bosId && ids[1] === tok.bosId ? ids.slice(1) : ids;
}

/** The zero-shot summarisation prompt: one user turn through the chat template + generation prompt. */
export function buildSummaryPrompt(tok: Tok, article: string, opts: PromptOptions = {}): SummaryPrompt {
  const instruction = opts.instruction ?? DEFAULT_INSTRUCTION;
  const budget = opts.articleTokenBudget ?? DEFAULT_ARTICLE_TOKEN_BUDGET;
  const cut = truncateToTokens(tok, article, budget);
  const promptText = tok.applyChatTemplate([{ role: "user", content: `${instruction}\n\n${cut.text}` }], {
    addGenerationPrompt: true,
  });
  const promptIds = encodeRendered(tok, promptText);
  return {
    promptIds,
    promptText,
    truncatedTokens: cut.truncated,
    meta: { template: "chat", instruction, articleTokenBudget: budget, articleTokens: cut.total },
  };
}

export interface TrainingExample {
  inputIds: number[];
  /** HF convention, unshifted: -100 on the prompt; summary tokens and the closing EOS carry loss. */
  labels: number[];
  promptLength: number;
  truncatedTokens: number;
}

/**
 * Prompt + reference summary (highlights joined by "\n") + EOS. The summary is tokenised in place
 * after the prompt, so its tokens are the ones the model must produce after "<|assistant|>\n"
 * (encoded alone it would get a leading "▁" it never sees at generation time).
 */
export function buildTrainingExample(
  tok: Tok,
  record: NewsRecord,
  opts: PromptOptions = {},
): TrainingExample {
  const p = buildSummaryPrompt(tok, record.article, opts);
  const full = encodeRendered(tok, p.promptText + record.highlights);
  const n = p.promptIds.length;
  // The generation prompt ends in "\n", a byte token no merge touches, so the prompt is a prefix.
  for (let i = 0; i < n; i++) {
    if (full[i] !== p.promptIds[i])
      throw new Error(`prompt tokens are not a prefix of the example (at ${i})`);
  }
  const inputIds = [...full, tok.eosId];
  const labels = inputIds.map((id, i) => (i < n ? IGNORE_INDEX : id));
  return { inputIds, labels, promptLength: n, truncatedTokens: p.truncatedTokens };
}
