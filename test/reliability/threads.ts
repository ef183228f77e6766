/**
 * Measure, on this machine, whether onnxruntime's intra-op thread count changes the engine's
 * numbers: logits, loss, LoRA gradients, a few AdamW steps and greedy tokens with threads=1 vs 2.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type LlamaConfig, parseLlamaConfig, randomLlamaWeights } from "../../harness/engine/checkpoint.ts";
import { generate } from "../../harness/engine/generate.ts";
import { initLora } from "../../harness/engine/lora.ts";
import { type FArr, LlamaModel } from "../../harness/engine/model.ts";
import { TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import { train } from "../../harness/engine/train.ts";
import { rngStream } from "../../harness/rng.ts";

export interface ThreadFinding {
  model: string;
  what: string;
  identical: boolean;
  /** Largest absolute difference (0 when identical). */
  maxAbs: number;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (d > m || Number.isNaN(d)) m = Number.isNaN(d) ? Number.POSITIVE_INFINITY : d;
  }
  return m;
}

function bitsEqual(a: FArr, b: FArr): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(
    Buffer.from(b.buffer, b.byteOffset, b.byteLength),
  );
}

interface Measured {
  logits: Float64Array;
  loss: number;
  grads: FArr[];
  trained: FArr[];
  tokens: number[][];
  seconds: number;
}

async function measure(config: LlamaConfig, threads: number, T: number): Promise<Measured> {
  const t0 = performance.now();
  const weights = randomLlamaWeights(config, "thread-check", 0.05);
  const model = new LlamaModel(config, weights, { threads });
  const rng = rngStream("thread-check", "ids");
  const rows = Array.from({ length: 4 }, () =>
    Array.from({ length: T }, () => 3 + rng.int(config.vocabSize - 3)),
  );
  const settings = { r: 8, alpha: 16, dropout: 0.05, targetModules: ["q_proj", "v_proj"], useRslora: false };
  const lora = initLora(config, settings, 1);
  const logitRows = await model.logits(rows);
  const flat = new Float64Array(logitRows.reduce((n, r) => n + r.length * config.vocabSize, 0));
  let o = 0;
  for (const r of logitRows)
    for (const p of r) {
      flat.set(p, o);
      o += p.length;
    }
  const labels = rows.map((r) => r.map((t, i) => (i < T / 2 ? -100 : t)));
  const lg = await model.lossAndGrads({ inputIds: rows, labels, normaliser: 1 }, { lora });
  await train(
    model,
    rows.map((r, i) => ({ inputIds: r, labels: labels[i] })),
    { epochs: 2, lr: 1e-2, batchSize: 2, seed: 1, dropout: 0.05 },
    lora,
  );
  const tokens = await generate(
    model,
    rows.map((r) => r.slice(0, T / 2)),
    { maxNewTokens: 16, eosTokenIds: [], lora },
  );
  await model.release();
  const seconds = (performance.now() - t0) / 1000;
  return {
    logits: flat,
    loss: lg.loss,
    grads: [...lg.grads.values()],
    trained: [...lora.tensors.values()],
    tokens,
    seconds,
  };
}

/** The embedded tiny model's shape and one TinyLlama-width layer (hidden 2048, GQA 32/4). */
export const THREAD_MODELS: { name: string; config: LlamaConfig; T: number }[] = [
  { name: "tiny (h=192, 4 layers)", T: 96, config: tinyConfig() },
  // A vocabulary of 2,048 keeps the head small: the layer's matmuls are what is measured.
  {
    name: "TinyLlama-width layer (h=2048, 1 layer)",
    T: 64,
    config: { ...TINYLLAMA_SHAPES, numLayers: 1, vocabSize: 2048 },
  },
];

function tinyConfig(): LlamaConfig {
  const file = join(dirname(fileURLToPath(import.meta.url)), "../../fixtures/tiny/config.json");
  return parseLlamaConfig(JSON.parse(readFileSync(file, "utf8")), file);
}

/**
 * threads=1 vs threads=2 (and threads=1 twice, as the control) on each model; `seconds` per thread
 * count shows whether the second thread was used at all.
 */
export async function threadFindings(
  models = THREAD_MODELS,
): Promise<{ findings: ThreadFinding[]; seconds: { model: string; one: number; two: number }[] }> {
  const out: ThreadFinding[] = [];
  const seconds: { model: string; one: number; two: number }[] = [];
  for (const { name, config, T } of models) {
    const one = await measure(config, 1, T);
    const oneAgain = await measure(config, 1, T);
    const two = await measure(config, 2, T);
    seconds.push({ model: name, one: Math.min(one.seconds, oneAgain.seconds), two: two.seconds });
    const add = (what: string, a: Measured, b: Measured) => {
      const grads = a.grads.every((g, i) => bitsEqual(g, b.grads[i]));
      const trained = a.trained.every((g, i) => bitsEqual(g, b.trained[i]));
      out.push(
        {
          model: name,
          what: `${what}: logits`,
          identical: bitsEqual(a.logits, b.logits),
          maxAbs: maxAbsDiff(a.logits, b.logits),
        },
        {
          model: name,
          what: `${what}: loss`,
          identical: a.loss === b.loss,
          maxAbs: Math.abs(a.loss - b.loss),
        },
        {
          model: name,
          what: `${what}: LoRA gradients`,
          identical: grads,
          maxAbs: Math.max(...a.grads.map((g, i) => maxAbsDiff(g, b.grads[i]))),
        },
        {
          model: name,
          what: `${what}: adapter after 4 AdamW steps`,
          identical: trained,
          maxAbs: Math.max(...a.trained.map((g, i) => maxAbsDiff(g, b.trained[i]))),
        },
        {
          model: name,
          what: `${what}: greedy tokens`,
          identical: JSON.stringify(a.tokens) === JSON.stringify(b.tokens),
          maxAbs: 0,
        },
      );
    };
    add("1 vs 1 thread", one, oneAgain);
    add("1 vs 2 threads", one, two);
  }
  return { findings: out, seconds };
}
