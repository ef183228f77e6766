/** `lora-bench logits --model DIR [--adapter DIR] --ids 1,5,9` → {"logits": number[][]} */
import { parseFlags, parseIntList, requireFlag } from "../../args.ts";
import { parseDevice } from "../session.ts";
import { checkIds, openAdapter, openModel, writeJson } from "./common.ts";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: { type: "string" },
      adapter: { type: "string" },
      ids: { type: "string" },
      device: { type: "string" },
    },
    "logits",
  );
  const ids = parseIntList(requireFlag(values.ids, "ids", "logits"), "ids");
  const { ckpt, model } = openModel(requireFlag(values.model, "model", "logits"), parseDevice(values.device));
  checkIds(ids, ckpt.config.vocabSize, "ids");
  const lora = values.adapter ? openAdapter(values.adapter, ckpt) : undefined;
  const [rows] = await model.logits([ids], lora);
  writeJson({ logits: rows.map((r) => Array.from(r)) });
  await model.release();
  return 0;
}
