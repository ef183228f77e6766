/**
 * Decode speed of an exported fp32 model run by transformers.js, beside the engine's own decode of
 * the same weights at the same shapes (batch 1, a 64-token prompt, then one token per step). Both
 * rates exclude the prefill: transformers.js's is timed by a streamer from its first new token to
 * its last.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoModelForCausalLM, env, Tensor } from "@huggingface/transformers";
import type { LlamaConfig } from "./checkpoint.ts";
import { configJson } from "./checkpoint.ts";
import { writeOnnx } from "./export.ts";
import { LlamaModel } from "./model.ts";
import { decodeTokensPerS, fastWeights, round } from "./perf.ts";
import { resolveThreads } from "./session.ts";

export interface ExportPerf {
  layers: number;
  threads: number;
  decode_steps: number;
  engine_tokens_per_s: number;
  transformers_js_tokens_per_s: number;
  transformers_js_over_engine: number;
  onnx_data_bytes: number;
}

export async function exportPerf(o: {
  config: LlamaConfig;
  decodeSteps: number;
  threads?: number;
  log: (m: string) => void;
}): Promise<ExportPerf> {
  const threads = resolveThreads(o.threads);
  const c = o.config;
  const model = new LlamaModel(c, fastWeights(c), { threads, oneSession: true, ownsWeights: true });
  const ids = Array.from({ length: 64 }, (_, i) => 3 + ((i * 7919) % (c.vocabSize - 3)));
  o.log(`export: engine decode, ${o.decodeSteps} steps…`);
  await decodeTokensPerS(model, ids, 1, 2); // warm-up
  const engine = await decodeTokensPerS(model, ids, 1, o.decodeSteps);
  await model.release();
  const dir = mkdtempSync(join(tmpdir(), "lora-bench-export-perf-"));
  try {
    o.log("export: writing the fp32 export…");
    writeOnnx(model, dir, "fp32", JSON.parse(configJson(c, "float32")));
    await model.dispose();
    writeFileSync(join(dir, "generation_config.json"), JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }));
    env.allowRemoteModels = false;
    const tjs = await AutoModelForCausalLM.from_pretrained(dir, {
      local_files_only: true,
      dtype: "fp32",
      session_options: { intraOpNumThreads: threads, interOpNumThreads: 1 },
    });
    const input_ids = new Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
    const attention_mask = new Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
    /** Seconds from the first new token to the last of an n-token greedy generate. */
    const decodeSeconds = async (n: number) => {
      const at: number[] = [];
      // generate() calls put() once with the prompt, then once per new token.
      const streamer = { put: () => void at.push(performance.now()), end: () => {} };
      // min_new_tokens keeps an end-of-sequence token from stopping the run early.
      await tjs.generate({
        input_ids,
        attention_mask,
        max_new_tokens: n,
        min_new_tokens: n,
        do_sample: false,
        streamer: streamer as never,
      });
      return (at[at.length - 1] - at[1]) / 1000;
    };
    o.log(`export: transformers.js decode, ${o.decodeSteps} steps…`);
    await decodeSeconds(3); // warm-up
    const tjsRate = o.decodeSteps / (await decodeSeconds(1 + o.decodeSteps));
    await tjs.dispose();
    return {
      layers: c.numLayers,
      threads,
      decode_steps: o.decodeSteps,
      engine_tokens_per_s: round(engine),
      transformers_js_tokens_per_s: round(tjsRate),
      transformers_js_over_engine: round(tjsRate / engine, 3),
      onnx_data_bytes: statSync(join(dir, "onnx", "model.onnx_data")).size,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
