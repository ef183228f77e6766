import { parseDevice } from "../../engine/session.ts";
import { DEVICE_FLAG, defineCommand, MODEL_FLAGS, QUANT_FLAG } from "../command.ts";
import { parseIntList } from "../flags.ts";
import { checkIds, openAdapter, openModel, writeJson } from "../model-io.ts";

export default defineCommand({
  name: "logits",
  description: 'Logits of one token sequence, as {"logits": number[][]} on stdout (one row per position).',
  flags: {
    ids: { type: "string", arg: "1,5,9", help: "token ids, comma-separated", required: true },
    ...MODEL_FLAGS,
    ...DEVICE_FLAG,
    ...QUANT_FLAG,
  },
  async run({ values }) {
    const ids = parseIntList(values.ids, "ids");
    const { ckpt, model } = await openModel(values.model, parseDevice(values.device), values.quant);
    checkIds(ids, ckpt.config.vocabSize, "ids");
    const lora = values.adapter ? openAdapter(values.adapter, ckpt) : undefined;
    const [rows] = await model.logits([ids], lora);
    writeJson({ logits: rows.map((r) => Array.from(r)) });
    await model.release();
    return 0;
  },
});
