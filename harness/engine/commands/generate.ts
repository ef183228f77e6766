/**
 * `lora-bench generate --model DIR [--adapter DIR] --prompt TEXT [--max-new-tokens N] [--chat]
 *   [--temperature T --top-p P --seed S] [--json]` — greedy by default. With --chat the prompt is
 * wrapped as one user turn in the tokenizer's chat template (with the generation prompt).
 */
import { parseFlags, parseNumber, requireFlag } from "../../args.ts";
import { loadTokenizer } from "../../data/tokenizer.ts";
import { UserError } from "../../errors.ts";
import { generate } from "../generate.ts";
import { parseDevice } from "../session.ts";
import { openAdapter, openModel, writeJson } from "./common.ts";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: { type: "string" },
      adapter: { type: "string" },
      prompt: { type: "string" },
      "max-new-tokens": { type: "string" },
      chat: { type: "boolean" },
      temperature: { type: "string" },
      "top-p": { type: "string" },
      seed: { type: "string" },
      device: { type: "string" },
      json: { type: "boolean" },
    },
    "generate",
  );
  const modelDir = requireFlag(values.model, "model", "generate");
  const prompt = values.prompt;
  if (prompt === undefined) throw new UserError("generate: missing required flag --prompt");
  const maxNew = parseNumber(values["max-new-tokens"], "max-new-tokens", 128);
  if (!Number.isInteger(maxNew) || maxNew < 1)
    throw new UserError("--max-new-tokens must be a positive integer");
  const { ckpt, model } = openModel(modelDir, parseDevice(values.device));
  const tok = await loadTokenizer(modelDir);
  const lora = values.adapter ? openAdapter(values.adapter, ckpt) : undefined;
  const text = values.chat
    ? tok.applyChatTemplate([{ role: "user", content: prompt }], { addGenerationPrompt: true })
    : prompt;
  const ids = tok.encode(text, { addSpecialTokens: true });
  const sampling =
    values.temperature !== undefined
      ? {
          temperature: parseNumber(values.temperature, "temperature"),
          topP: parseNumber(values["top-p"], "top-p", 1),
          seed: parseNumber(values.seed, "seed", 0),
        }
      : undefined;
  const eos = ckpt.config.eosTokenId;
  const [out] = await generate(model, [ids], {
    maxNewTokens: maxNew,
    eosTokenIds: eos === undefined ? [tok.eosId] : Array.isArray(eos) ? eos : [eos],
    padTokenId: tok.padId,
    sampling,
    lora,
  });
  const completion = tok.decode(out, { skipSpecialTokens: true });
  if (values.json) writeJson({ prompt: text, completion, tokens: out });
  else process.stdout.write(`${completion}\n`);
  await model.release();
  return 0;
}
