import { EXPORT_DTYPES, exportModel, parseExportDtype } from "../../engine/export.ts";
import { defineCommand, JSON_FLAG, MODEL_FLAGS } from "../command.ts";
import { writeJson } from "../model-io.ts";

export default defineCommand({
  name: "export",
  description:
    "Write the model, with the adapter merged into its weights, as a folder that transformers.js loads\n" +
    "from local files: config.json, generation_config.json, the tokenizer files and onnx/model*.onnx\n" +
    "(Hugging Face decoder IO, weights in the .onnx_data file beside it). fp16 stores the weight\n" +
    "matrices in half precision (computed in float32); q8 and q4 hold every decoder linear in 8 or 4\n" +
    "bits (MatMulNBits, blocks of 32). lora_bench_export.json records the base weights' and the\n" +
    "adapter's sha256.",
  flags: {
    ...MODEL_FLAGS,
    out: {
      type: "string",
      arg: "DIR",
      help: "the folder to write (must not exist, or be empty)",
      required: true,
    },
    dtype: { type: "string", arg: EXPORT_DTYPES.join("|"), help: "weight precision (default fp32)" },
    ...JSON_FLAG,
  },
  async run({ values }) {
    const dtype = parseExportDtype(values.dtype);
    const record = await exportModel({
      model: values.model,
      adapter: values.adapter,
      out: values.out,
      dtype,
    });
    if (values.json) {
      writeJson(record);
      return 0;
    }
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const total = Object.values(record.files).reduce((a, b) => a + b, 0);
    process.stdout.write(
      `${record.out}: ${record.onnx} (${dtype}), ${mb(total)} in ${Object.keys(record.files).length} files\n` +
        `base ${record.base.sha256.slice(0, 12)}${record.adapter ? `, adapter ${record.adapter.path} merged (${record.adapter.sha256.slice(0, 12)})` : ", no adapter"}\n`,
    );
    return 0;
  },
});
