/**
 * `lora-bench loss-grad --model DIR --adapter DIR --ids … --labels …` →
 * {"loss": number, "grads": {"<PEFT key>": nested arrays}} for every LoRA tensor, without dropout.
 * The loss is HF's: mean cross-entropy of logits at t against labels[t+1], -100 ignored.
 */
import { parseFlags, parseIntList, requireFlag } from "../../args.ts";
import { UserError } from "../../errors.ts";
import { parseDevice } from "../session.ts";
import { checkIds, nest, openAdapter, openModel, writeJson } from "./common.ts";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: { type: "string" },
      adapter: { type: "string" },
      ids: { type: "string" },
      labels: { type: "string" },
      device: { type: "string" },
    },
    "loss-grad",
  );
  const ids = parseIntList(requireFlag(values.ids, "ids", "loss-grad"), "ids");
  const labels = parseIntList(requireFlag(values.labels, "labels", "loss-grad"), "labels");
  if (labels.length !== ids.length)
    throw new UserError(`--labels has ${labels.length} entries but --ids has ${ids.length}; they must match`);
  const adapterDir = requireFlag(values.adapter, "adapter", "loss-grad");
  const { ckpt, model } = openModel(
    requireFlag(values.model, "model", "loss-grad"),
    parseDevice(values.device),
  );
  checkIds(ids, ckpt.config.vocabSize, "ids");
  checkIds(labels, ckpt.config.vocabSize, "labels", true);
  if (labels.slice(1).every((l) => l === -100))
    throw new UserError("--labels: no position after the first carries a label");
  const lora = openAdapter(adapterDir, ckpt);
  const { loss, grads } = await model.lossAndGrads({ inputIds: [ids], labels: [labels] }, { lora });
  const out: Record<string, unknown> = {};
  for (const [key, g] of grads) out[key] = nest(g, lora.shapes.get(key)!);
  writeJson({ loss, grads: out });
  await model.release();
  return 0;
}
