import { loadTokenizer } from "../../data/tokenizer.ts";
import { generate } from "../../engine/generate.ts";
import { parseDevice } from "../../engine/session.ts";
import { UserError } from "../../errors.ts";
import { DEVICE_FLAG, defineCommand, JSON_FLAG, MODEL_FLAGS, QUANT_FLAG } from "../command.ts";
import { parseNumber } from "../flags.ts";
import { openAdapter, openModel, writeJson } from "../model-io.ts";

export default defineCommand({
  name: "generate",
  description:
    "Generate text from a prompt; greedy unless --temperature is given. With --chat the prompt is wrapped\n" +
    "as one user turn in the tokenizer's chat template (with the generation prompt).",
  flags: {
    ...MODEL_FLAGS,
    prompt: { type: "string", arg: "TEXT", help: "the prompt (required; may be empty)" },
    "max-new-tokens": { type: "string", arg: "N", help: "tokens to generate at most (default 128)" },
    chat: { type: "boolean", help: "apply the chat template" },
    temperature: { type: "string", arg: "T", help: "sample at temperature T instead of greedy decoding" },
    "top-p": { type: "string", arg: "P", help: "nucleus sampling mass (default 1)" },
    seed: { type: "string", arg: "S", help: "sampling seed (default 0)" },
    ...DEVICE_FLAG,
    ...QUANT_FLAG,
    ...JSON_FLAG,
  },
  async run({ values }) {
    const prompt = values.prompt;
    // Not `required`: an empty prompt is legal (generation from BOS alone).
    if (prompt === undefined) throw new UserError("generate: missing required flag --prompt (try --help)");
    const maxNew = parseNumber(values["max-new-tokens"], "max-new-tokens", 128);
    if (!Number.isInteger(maxNew) || maxNew < 1)
      throw new UserError("--max-new-tokens must be a positive integer");
    const { ckpt, model } = await openModel(values.model, parseDevice(values.device), values.quant);
    const tok = await loadTokenizer(values.model);
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
  },
});
