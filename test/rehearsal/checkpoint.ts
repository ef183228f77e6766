/**
 * A random checkpoint with TinyLlama-1.1B's exact shapes, stored as the Hub stores TinyLlama-1.1B-Chat:
 * one BF16 model.safetensors with config.json, generation_config.json and the tokenizer files. The
 * tokenizer is the embedded tiny model's (a Llama-style BPE with TinyLlama's chat template), its
 * vocabulary padded with unused tokens to TinyLlama's 32,000 so that every id the model can emit decodes.
 *   npx tsx test/rehearsal/checkpoint.ts OUT_DIR [--quick]   (--quick: 4 layers, hidden 512, a smoke run)
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { saveLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { fastWeights, QUICK_SHAPES, TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import { ROOT } from "../cli-helpers.ts";

const out = process.argv[2];
const shapes = process.argv.includes("--quick") ? QUICK_SHAPES : TINYLLAMA_SHAPES;
if (!out) throw new Error("usage: checkpoint.ts OUT_DIR");
const TINY = join(ROOT, "fixtures/tiny");
const tok = JSON.parse(readFileSync(join(TINY, "tokenizer.json"), "utf8"));
const vocab = tok.model.vocab as Record<string, number>;
for (let id = Object.keys(vocab).length; id < shapes.vocabSize; id++) vocab[`<unused_${id}>`] = id;
const files: Record<string, string> = { "tokenizer.json": JSON.stringify(tok) };
for (const f of ["tokenizer_config.json", "special_tokens_map.json", "generation_config.json"])
  files[f] = readFileSync(join(TINY, f), "utf8");
saveLlamaCheckpoint(out, shapes, fastWeights(shapes), {
  dtype: "BF16",
  extraFiles: files,
});
console.log(`wrote ${out}`);
