/**
 * A small, fast study for tests: a random 2-layer Llama with the project's tokenizer, the synthetic
 * corpus, 12 training and 6 evaluation examples, and a config file in a temp directory (.mts, so it
 * loads as ESM wherever it lives). Cache, reports and README go to the same temp directory.
 */
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { LlamaConfig } from "../../harness/engine/checkpoint.ts";
import { randomLlamaWeights, saveLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { ROOT, tempDir } from "../cli-helpers.ts";

export const SMALL_MODEL: LlamaConfig = {
  modelType: "llama",
  hiddenSize: 64,
  intermediateSize: 128,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 16,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  maxPositionEmbeddings: 1024,
  vocabSize: 2048,
  tieWordEmbeddings: false,
  bosTokenId: 1,
  eosTokenId: 2,
  ropeScaling: null,
};

export interface SmallStudy {
  dir: string;
  config: string;
  modelDir: string;
  cacheDir: string;
  reportsDir: string;
  readme: string;
}

/** `overrides` is TypeScript source spliced into the tiny profile (e.g. `sweep: undefined,`). */
export function makeSmallStudy(opts: { overrides?: string; weightsSeed?: number } = {}): SmallStudy {
  const dir = tempDir("lora-bench-study-");
  const modelDir = join(dir, "model");
  const extraFiles: Record<string, string> = {};
  for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"])
    extraFiles[f] = readFileSync(join(ROOT, "fixtures/tiny", f), "utf8");
  saveLlamaCheckpoint(modelDir, SMALL_MODEL, randomLlamaWeights(SMALL_MODEL, opts.weightsSeed ?? 1, 0.05), {
    extraFiles,
  });
  const readme = join(dir, "README.md");
  copyFileSync(join(ROOT, "README.md"), readme);
  const config = join(dir, "bench.config.mts");
  writeFileSync(
    config,
    `import { defineConfig } from ${JSON.stringify(join(ROOT, "harness/study/config.ts"))};
export default defineConfig({
  defaultProfile: "tiny",
  cacheDir: ${JSON.stringify(join(dir, "cache"))},
  reportsDir: ${JSON.stringify(join(dir, "reports"))},
  readme: ${JSON.stringify(readme)},
  profiles: {
    tiny: {
      description: "test study",
      model: { source: ${JSON.stringify(modelDir)} },
      dataset: { source: ${JSON.stringify(join(ROOT, "fixtures/data/synthetic-news"))}, config: "3.0.0", trainSplit: "train", evalSplit: "test" },
      data: { trainN: 12, evalN: 6, subsetSeed: 0 },
      seeds: [1, 2],
      prompt: { instruction: "Summarize the following news article in three or four sentences.", articleTokenBudget: 64, maxTargetTokens: 24 },
      lora: { alpha: 16, dropout: 0.05, targetModules: ["q_proj", "v_proj"] },
      training: { epochs: 1, lr: 1e-3, batchSize: 4, gradAccum: 1, weightDecay: 0, warmupRatio: 0, maxGradNorm: 1 },
      decoding: { maxNewTokens: 8, batchSize: 6 },
      rouge: { useStemmer: false, bootstrapResamples: 1000 },
      arms: [
        { id: "base", kind: "base" },
        { id: "lora-r8", kind: "lora", r: 8 },
        { id: "lora-r32", kind: "lora", r: 32 },
      ],
      device: "cpu",
      ${opts.overrides ?? ""}
    },
  },
});
`,
  );
  return { dir, config, modelDir, cacheDir: join(dir, "cache"), reportsDir: join(dir, "reports"), readme };
}
