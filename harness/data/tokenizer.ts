import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { AutoTokenizer, env } from "@huggingface/transformers";
import { UserError } from "../errors.ts";

export interface ChatMessage {
  role: "system" | "user" | "assistant";
  content: string;
}

/** The slice of a Hugging Face tokenizer the harness uses. */
export interface Tok {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: readonly number[], opts?: { skipSpecialTokens?: boolean }): string;
  /** The rendered chat template (text, not ids), as `apply_chat_template(tokenize=False)`. */
  applyChatTemplate(messages: readonly ChatMessage[], opts?: { addGenerationPrompt?: boolean }): string;
  readonly bosId: number;
  readonly eosId: number;
  /** Llama has no pad token; like TinyLlama's config we pad with EOS. */
  readonly padId: number;
  readonly vocabSize: number;
  readonly dir: string;
}

/** The files a local Llama-style tokenizer directory must have (what transformers.js reads). */
export const TOKENIZER_FILES = ["tokenizer.json", "tokenizer_config.json"] as const;

/**
 * Load a tokenizer from a local directory through AutoTokenizer, the same path as for TinyLlama.
 * Remote loading is switched off and the directory is passed as an absolute path, so transformers.js
 * never builds a Hub URL; its file cache is off so it never writes next to node_modules.
 */
export async function loadTokenizer(dir: string): Promise<Tok> {
  const abs = resolve(dir);
  for (const f of TOKENIZER_FILES) {
    if (!existsSync(join(abs, f))) throw new UserError(`missing tokenizer file ${f}`, abs);
  }
  env.allowRemoteModels = false;
  env.allowLocalModels = true;
  env.useFSCache = false;
  let tk: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
  try {
    tk = await AutoTokenizer.from_pretrained(abs, { local_files_only: true });
  } catch (err) {
    throw new UserError(`cannot load tokenizer (${(err as Error).message})`, abs);
  }
  const t = tk as any; // transformers.js' typings are loose around these fields
  const id = (name: string, v: unknown) => {
    if (typeof v !== "number") throw new UserError(`tokenizer has no ${name} token`, abs);
    return v;
  };
  const bosId = id("bos", t.bos_token_id);
  const eosId = id("eos", t.eos_token_id);
  const padId = typeof t.pad_token_id === "number" ? t.pad_token_id : eosId;
  const vocabSize = Object.keys(
    t.get_vocab() instanceof Map ? Object.fromEntries(t.get_vocab()) : t.get_vocab(),
  ).length;
  return {
    dir: abs,
    bosId,
    eosId,
    padId,
    vocabSize,
    encode: (text, opts = {}) =>
      Array.from(tk.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true }) as number[]),
    decode: (ids, opts = {}) => tk.decode([...ids], { skip_special_tokens: opts.skipSpecialTokens ?? false }),
    applyChatTemplate: (messages, opts = {}) =>
      tk.apply_chat_template(messages as ChatMessage[], {
        tokenize: false,
        add_generation_prompt: opts.addGenerationPrompt ?? false,
      }) as string,
  };
}

/**
 * The special token a chat template closes an assistant turn with, when it is not EOS (Gemma's
 * `<end_of_turn>`): generation stops there as at EOS. Empty when turns end with EOS (TinyLlama's
 * template), with plain text, or when the template cannot render an assistant turn.
 */
export function turnEndIds(tok: Tok): number[] {
  const probe = "lora-bench turn probe";
  let text: string;
  try {
    text = tok.applyChatTemplate([
      { role: "user", content: "x" },
      { role: "assistant", content: probe },
    ]);
  } catch {
    return [];
  }
  const at = text.lastIndexOf(probe);
  if (at < 0) return [];
  const first = tok.encode(text.slice(at + probe.length), { addSpecialTokens: false })[0];
  if (first === undefined || first === tok.eosId) return [];
  const special = tok.decode([first], { skipSpecialTokens: true }) === "" && tok.decode([first]) !== "";
  return special ? [first] : [];
}
