/**
 * Running an exported folder the way its users will: through transformers.js (local files only, the
 * remote Hub switched off) for greedy generation, and through onnxruntime-node directly for the
 * logits of a whole sequence. Used by the export's tests, `npm run perf` and the README example.
 */
import { join } from "node:path";
import { AutoModelForCausalLM, AutoTokenizer, env } from "@huggingface/transformers";
import ort from "onnxruntime-node";
import type { ExportDtype } from "./export.ts";
import { ONNX_FILE } from "./export.ts";

export interface LoadedExport {
  tokenizer: Awaited<ReturnType<typeof AutoTokenizer.from_pretrained>>;
  model: Awaited<ReturnType<typeof AutoModelForCausalLM.from_pretrained>>;
}

export async function loadExport(dir: string, dtype: ExportDtype): Promise<LoadedExport> {
  env.allowRemoteModels = false;
  const tokenizer = await AutoTokenizer.from_pretrained(dir, { local_files_only: true });
  const model = await AutoModelForCausalLM.from_pretrained(dir, { local_files_only: true, dtype });
  return { tokenizer, model };
}

/** Greedy new tokens for one prompt (BOS added by the tokenizer, as `lora-bench generate` does). */
export async function greedyTokens(e: LoadedExport, prompt: string, maxNewTokens: number): Promise<number[]> {
  const enc = e.tokenizer(prompt);
  const n = enc.input_ids.dims[1];
  const out = (await e.model.generate({ ...enc, max_new_tokens: maxNewTokens, do_sample: false })) as {
    tolist(): bigint[][];
  };
  return out.tolist()[0].slice(n).map(Number);
}

/** Logits [position][vocab] of one sequence from the exported file, run by onnxruntime-node with an empty cache. */
export async function exportLogits(dir: string, dtype: ExportDtype, ids: number[]): Promise<Float32Array[]> {
  const session = await ort.InferenceSession.create(join(dir, "onnx", ONNX_FILE[dtype]));
  try {
    const T = ids.length;
    const i64 = (xs: number[]) => new ort.Tensor("int64", BigInt64Array.from(xs.map(BigInt)), [1, T]);
    const feeds: Record<string, ort.Tensor> = {
      input_ids: i64(ids),
      attention_mask: i64(ids.map(() => 1)),
      position_ids: i64(ids.map((_, t) => t)),
    };
    for (const name of session.inputNames) {
      if (!name.startsWith("past_key_values.")) continue;
      const meta = session.inputMetadata.find((m) => m.name === name) as {
        shape: readonly (number | string)[];
      };
      const dims = meta.shape.map((d, i) => (i === 0 ? 1 : typeof d === "number" ? d : 0));
      feeds[name] = new ort.Tensor("float32", new Float32Array(0), dims);
    }
    const logits = (await session.run(feeds)).logits;
    const V = logits.dims[2];
    const data = logits.data as Float32Array;
    return Array.from({ length: T }, (_, t) => data.slice(t * V, (t + 1) * V));
  } finally {
    await session.release();
  }
}
