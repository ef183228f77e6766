import { parseDevice } from "../../engine/session.ts";
import { UserError } from "../../errors.ts";
import { DEVICE_FLAG, defineCommand, MODEL_FLAGS, QUANT_FLAG } from "../command.ts";
import { parseIntList } from "../flags.ts";
import { checkIds, nest, openAdapter, openModel, writeJson } from "../model-io.ts";

export default defineCommand({
  name: "loss-grad",
  description:
    'Loss and LoRA gradients for one sequence, without dropout: {"loss": number, "grads": {"<PEFT key>": …}}\n' +
    "for every LoRA tensor. The loss is HF's: mean cross-entropy of the logits at t against labels[t+1],\n" +
    "label -100 ignored.",
  flags: {
    ids: { type: "string", arg: "1,5,9", help: "token ids, comma-separated", required: true },
    labels: { type: "string", arg: "-100,5,9", help: "one label per id (-100: no loss)", required: true },
    adapter: { ...MODEL_FLAGS.adapter, required: true },
    model: MODEL_FLAGS.model,
    ...DEVICE_FLAG,
    ...QUANT_FLAG,
  },
  async run({ values }) {
    const ids = parseIntList(values.ids, "ids");
    const labels = parseIntList(values.labels, "labels");
    if (labels.length !== ids.length)
      throw new UserError(
        `--labels has ${labels.length} entries but --ids has ${ids.length}; they must match`,
      );
    const { ckpt, model } = await openModel(values.model, parseDevice(values.device), values.quant);
    checkIds(ids, ckpt.config.vocabSize, "ids");
    checkIds(labels, ckpt.config.vocabSize, "labels", true);
    if (labels.slice(1).every((l) => l === -100))
      throw new UserError("--labels: no position after the first carries a label");
    const lora = openAdapter(values.adapter, ckpt);
    const { loss, grads } = await model.lossAndGrads({ inputIds: [ids], labels: [labels] }, { lora });
    const out: Record<string, unknown> = {};
    for (const [key, g] of grads) out[key] = nest(g, lora.shapes.get(key)!);
    writeJson({ loss, grads: out });
    await model.release();
    return 0;
  },
});
