/**
 * Micro-batching and per-layer recomputation bound a step's memory without changing its result:
 * recomputation is bit-identical to the plain step (the rebuilt layers compute the same values), and
 * micro-batches agree within 1e-12 relative in float64 and 1e-6 in float32 (only the order of the
 * batch sum changes).
 */
import { describe, expect, it } from "vitest";
import { randomLlamaWeights } from "../../harness/engine/checkpoint.ts";
import { initLora } from "../../harness/engine/lora.ts";
import { type FArr, LlamaModel } from "../../harness/engine/model.ts";
import { accumulateGradients, type TrainExample, train } from "../../harness/engine/train.ts";
import { rngStream } from "../../harness/rng.ts";
import { randomLora, tinyConfig, weightsF64 } from "./tiny.ts";

const ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];
// Four rows of different lengths, so micro-batches pad differently from the whole batch.
const rows: TrainExample[] = [
  { inputIds: [1, 5, 9, 3, 7, 11, 13], labels: [-100, -100, -100, 3, 7, 11, 13] },
  { inputIds: [1, 8, 4, 6, 2], labels: [-100, -100, 4, 6, 2] },
  { inputIds: [1, 8, 4, 6, 2, 9, 9, 9, 3], labels: [-100, -100, -100, -100, 2, 9, 9, 9, 3] },
  { inputIds: [1, 3, 3], labels: [-100, 3, 3] },
];

function setup(f64: boolean) {
  const c = tinyConfig({ numLayers: 3 });
  const model = new LlamaModel(c, f64 ? weightsF64(c, "bounded") : randomLlamaWeights(c, "bounded", 0.3));
  const lora = randomLora(
    c,
    { r: 2, alpha: 4, dropout: 0.2, targetModules: ALL, useRslora: false },
    "b",
    f64,
  );
  const step = async (microBatch: number, checkpointing: boolean) => {
    const grads = new Map<string, Float64Array>();
    const streams = rows.map((_, i) => rngStream(1, "dropout").child(`example-${i}`));
    const { loss } = await accumulateGradients(model, rows, 17, grads, {
      lora,
      microBatch,
      checkpointing,
      dropout: { p: 0.2, streams },
    });
    return { loss, grads };
  };
  return { model, step };
}

const hex = (m: Map<string, FArr>) =>
  [...m].map(([k, v]) => k + Buffer.from(v.buffer).toString("hex")).join();

/** Largest difference relative to each tensor's largest magnitude. */
function worst(a: Map<string, FArr>, b: Map<string, FArr>): number {
  expect([...b.keys()]).toEqual([...a.keys()]);
  let w = 0;
  for (const [k, x] of a) {
    const y = b.get(k)!;
    let scale = 0;
    for (const v of x) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < x.length; i++) w = Math.max(w, Math.abs(x[i] - y[i]) / (scale || 1));
  }
  return w;
}

describe.each([
  ["float64", true, 1e-12],
  ["float32", false, 1e-6],
])("bounded activation memory in %s", (_, f64, tol) => {
  it("recomputing each layer gives the plain step's loss and gradients bit for bit", async () => {
    const { model, step } = setup(f64);
    const plain = await step(4, false);
    const ckpt = await step(4, true);
    expect(ckpt.loss).toBe(plain.loss);
    expect(hex(ckpt.grads)).toBe(hex(plain.grads));
    await model.release();
  });

  it("micro-batches of 1, 2 and 3 rows (with recomputation) give the whole batch's loss and gradients", async () => {
    const { model, step } = setup(f64);
    const whole = await step(4, false);
    for (const [micro, ckpt] of [
      [1, false],
      [2, false],
      [3, true],
      [1, true],
    ] as const) {
      const part = await step(micro, ckpt);
      expect(Math.abs(part.loss - whole.loss) / whole.loss).toBeLessThan(tol);
      expect(worst(whole.grads, part.grads)).toBeLessThan(tol);
    }
    await model.release();
  });
});

describe("bounded memory in full-parameter mode and through train()", () => {
  it("recomputation gives the same gradient for every weight (tied embeddings)", async () => {
    const c = tinyConfig({ tieWordEmbeddings: true });
    const model = new LlamaModel(c, weightsF64(c, "bounded-full"));
    const batch = { inputIds: rows.map((r) => r.inputIds), labels: rows.map((r) => r.labels) };
    const plain = await model.lossAndGrads(batch, { trainable: "all" });
    const ckpt = await model.lossAndGrads(batch, { trainable: "all", checkpointing: true });
    expect(ckpt.grads.size).toBe(plain.grads.size);
    expect(ckpt.loss).toBe(plain.loss);
    expect(hex(ckpt.grads)).toBe(hex(plain.grads));
    await model.release();
  });

  it("trains the same float64 adapter with micro-batch 1 and recomputation as with whole batches", async () => {
    const c = tinyConfig({ vocabSize: 32 });
    const data = Array.from({ length: 8 }, (_, i) => rows[i % 4]);
    const run = async (microBatch?: number, checkpointing?: boolean) => {
      const model = new LlamaModel(c, weightsF64(c, "bounded-train"));
      const s = { r: 2, alpha: 4, dropout: 0.1, targetModules: ["q_proj", "v_proj"], useRslora: false };
      const lora = initLora(c, s, 4);
      for (const [k, v] of lora.tensors) lora.tensors.set(k, Float64Array.from(v));
      const opts = { epochs: 2, lr: 1e-2, batchSize: 4, gradAccum: 2, seed: 4, dropout: 0.1 };
      const res = await train(model, data, { ...opts, microBatch, checkpointing }, lora);
      await model.release();
      return { curve: res.curve.map((p) => p.loss), tensors: lora.tensors };
    };
    const whole = await run();
    const bounded = await run(1, true);
    expect(bounded.curve).toHaveLength(2);
    bounded.curve.forEach((l, i) => {
      expect(Math.abs(l - whole.curve[i]) / whole.curve[i]).toBeLessThan(1e-12);
    });
    expect(worst(whole.tensors, bounded.tensors)).toBeLessThan(1e-12);
  });
});
