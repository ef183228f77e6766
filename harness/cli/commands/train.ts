import { loadTokenizer } from "../../data/tokenizer.ts";
import { idOutsideVocab, readTrainRecords, type TrainRecords } from "../../data/train-records.ts";
import { saveAdapter } from "../../engine/adapter-io.ts";
import { loraShapes } from "../../engine/architecture.ts";
import type { LlamaConfig } from "../../engine/checkpoint.ts";
import { parseDevice } from "../../engine/session.ts";
import { type TrainExample, train } from "../../engine/train.ts";
import { UserError } from "../../errors.ts";
import { DEVICE_FLAG, defineCommand, JSON_FLAG, MODEL_FLAGS, QUANT_FLAG } from "../command.ts";
import { parseNumber } from "../flags.ts";
import { checkQuantFlag, openModel } from "../model-io.ts";
import { progressLine } from "../progress.ts";
import { LORA_FLAGS, OPTIMIZER_FLAGS, optimizerOptions, startingAdapter } from "./train-flags.ts";

export default defineCommand({
  name: "train",
  description:
    'Fine-tune a LoRA adapter on JSONL records, one a line: {"prompt": …, "completion": …} (the loss is\n' +
    'taken on the completion + EOS) or {"input_ids": […], "labels": […]} (token ids, HF labels: -100 takes\n' +
    "no loss; no tokenizer needed). torch's AdamW, transformers' linear schedule with warm-up, clipping by\n" +
    "total norm. Progress on stderr; --json prints one JSON line per optimizer step on stdout (loss, lr,\n" +
    "gradNorm before clipping).",
  flags: {
    model: MODEL_FLAGS.model,
    data: { type: "string", arg: "FILE.jsonl", help: "training records", required: true },
    out: { type: "string", arg: "DIR", help: "where the PEFT adapter is written", required: true },
    ...LORA_FLAGS,
    ...OPTIMIZER_FLAGS,
    "max-length": { type: "string", arg: "N", help: "truncate text examples to N tokens (default 1024)" },
    float64: {
      type: "boolean",
      help: "float64 weights, graphs and optimizer (reference-grade; cpu only); writes an F64 adapter",
    },
    ...DEVICE_FLAG,
    ...QUANT_FLAG,
    ...JSON_FLAG,
  },
  async run({ values }) {
    const modelDir = values.model;
    const device = parseDevice(values.device);
    const float64 = values.float64 ?? false;
    if (float64 && values.quant)
      throw new UserError("--float64 and --quant: 4-bit weights run in float32 graphs; give one of them");
    if (float64 && device !== "cpu")
      throw new UserError(`--float64: float64 graphs run on the cpu device only`);
    await checkQuantFlag(values.quant, modelDir, device);
    const optimizer = optimizerOptions(values);
    const seed = parseNumber(values.seed, "seed", 42);
    const records = readTrainRecords(values.data);
    if (records.kind === "ids" && values["max-length"] !== undefined)
      throw new UserError(`--max-length: ${values.data} holds token ids, which are used as given`);
    const maxLength = parseNumber(values["max-length"], "max-length", 1024);
    if (!Number.isSafeInteger(maxLength) || maxLength < 1)
      throw new UserError(`--max-length: "${values["max-length"]}" must be a positive integer`);
    const { ckpt, model } = await openModel(modelDir, device, values.quant, { float64 });
    try {
      const data = await examples(records, values.data, modelDir, ckpt.config, maxLength);
      const { settings, lora } = startingAdapter(values, ckpt.config, seed, float64);
      const res = await train(
        model,
        data,
        {
          ...optimizer,
          seed,
          dropout: settings.dropout,
          onStep: (s) => {
            if (values.json) process.stdout.write(`${JSON.stringify(s)}\n`);
            else
              progressLine(
                `step ${s.step}/${s.totalSteps}  loss ${s.loss.toFixed(4)}  lr ${s.lr.toExponential(2)}`,
                s,
              );
          },
        },
        lora,
      );
      const shapes = new Map(loraShapes(ckpt.config, settings).map(({ key, shape }) => [key, shape]));
      saveAdapter(
        values.out,
        { ...settings, bias: "none", fanInFanOut: false },
        lora.tensors,
        shapes,
        modelDir,
      );
      progressLine.done(
        `trained ${res.steps} steps on ${data.length} examples in ${res.seconds.toFixed(1)} s → ${values.out}`,
      );
    } finally {
      await model.release();
    }
    return 0;
  },
});

/** Training examples from the records: token ids checked against the vocabulary, or text tokenised. */
async function examples(
  records: TrainRecords,
  path: string,
  modelDir: string,
  config: LlamaConfig,
  maxLength: number,
): Promise<TrainExample[]> {
  if (records.kind === "ids") {
    const out = idOutsideVocab(records.records, config.vocabSize);
    if (out)
      throw new UserError(
        `line ${out.line}: ${out.key}[${out.index}] is ${out.id}, outside the model's vocabulary [0, ${config.vocabSize})`,
        path,
      );
    return records.records.map((r) => ({ inputIds: r.inputIds, labels: r.labels }));
  }
  const tok = await loadTokenizer(modelDir);
  return records.records.map(({ prompt, completion }) => {
    const p = tok.encode(prompt, { addSpecialTokens: true });
    const full = tok.encode(prompt + completion, { addSpecialTokens: true });
    // Tokenise prompt + completion together (as generation will see them); the prompt's tokens are masked.
    const ids = [...full, tok.eosId].slice(0, maxLength);
    const labels = ids.map((id, i) => (i < p.length ? -100 : id));
    return { inputIds: ids, labels };
  });
}
