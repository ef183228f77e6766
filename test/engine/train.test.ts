import { describe, expect, it } from "vitest";
import { randomLlamaWeights } from "../../harness/engine/checkpoint.ts";
import { initLora } from "../../harness/engine/lora.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import {
  adamwStep,
  linearSchedule,
  type TrainExample,
  TrainingDiverged,
  train,
} from "../../harness/engine/train.ts";
import { tinyConfig } from "./tiny.ts";

/** A fixed toy task: after a 3-token "prompt", continue a deterministic pattern. */
function toyData(n: number): TrainExample[] {
  return Array.from({ length: n }, (_, i) => {
    const a = 3 + (i % 7);
    const body = [a, a + 1, a + 2, a + 3, a + 4, 2];
    const prompt = [1, 20 + (i % 5), a];
    return { inputIds: [...prompt, ...body], labels: [...prompt.map(() => -100), ...body] };
  });
}

describe("optimizer and schedule", () => {
  it("follows HF's linear schedule with warm-up (lr 0 on the first step when warming up)", () => {
    expect([0, 1, 2, 3, 4, 5, 10].map((k) => linearSchedule(k, 2, 10))).toEqual([
      0,
      0.5,
      1,
      7 / 8,
      6 / 8,
      5 / 8,
      0,
    ]);
    expect(linearSchedule(0, 0, 4)).toBe(1);
  });

  it("matches torch AdamW's closed form on the first two steps", () => {
    const p = new Map([["w", new Float32Array([1, -2])]]);
    const state = { m: new Map(), v: new Map(), t: 0 };
    const o = { lr: 0.1, betas: [0.9, 0.999] as [number, number], eps: 1e-8, weightDecay: () => 0.01 };
    adamwStep(p, new Map([["w", new Float64Array([0.5, -4])]]), state, o);
    // Step 1: p ← p(1 − lr·wd) − lr·g/(|g| + eps)
    expect(p.get("w")![0]).toBeCloseTo(1 * (1 - 0.001) - 0.1 * (0.5 / (0.5 + 1e-8)), 6);
    expect(p.get("w")![1]).toBeCloseTo(-2 * (1 - 0.001) + 0.1 * (4 / (4 + 1e-8)), 6);
    const before = p.get("w")![0];
    adamwStep(p, new Map([["w", new Float64Array([0.5, -4])]]), state, o);
    // Constant gradient: m̂ = g, v̂ = g², the same step again.
    expect(p.get("w")![0]).toBeCloseTo(before * (1 - 0.001) - 0.1 * (0.5 / (0.5 + 1e-8)), 6);
  });
});

describe("training", () => {
  it("drives a tiny model's LoRA loss well below its start", async () => {
    const c = tinyConfig({ vocabSize: 32 });
    const model = new LlamaModel(c, randomLlamaWeights(c, "train-lora", 0.3));
    const targets = ["q_proj", "v_proj", "o_proj", "down_proj"];
    const lora = initLora(c, { r: 8, alpha: 16, dropout: 0.05, targetModules: targets, useRslora: false }, 5);
    const steps: number[] = [];
    const res = await train(
      model,
      toyData(16),
      {
        epochs: 25,
        lr: 5e-2,
        batchSize: 4,
        gradAccum: 2,
        warmupSteps: 3,
        seed: 5,
        dropout: 0.05,
        onStep: (s) => steps.push(s.loss),
      },
      lora,
    );
    expect(res.steps).toBe(50);
    const start = res.curve[0].loss;
    const end = res.curve.slice(-5).reduce((a, s) => a + s.loss, 0) / 5;
    expect(start).toBeGreaterThan(3);
    expect(end).toBeLessThan(0.35 * start);
    expect(steps).toHaveLength(50);
    await model.release();
  });

  it("drives the loss down in full-parameter mode", async () => {
    const c = tinyConfig({ vocabSize: 32, tieWordEmbeddings: true });
    const model = new LlamaModel(c, randomLlamaWeights(c, "train-full", 0.1));
    const res = await train(model, toyData(16), {
      epochs: 20,
      lr: 1e-2,
      batchSize: 8,
      seed: 1,
      weightDecay: 0.01,
    });
    expect(res.curve.at(-1)!.loss).toBeLessThan(0.4 * res.curve[0].loss);
    await model.release();
  });

  it("is reproducible bit for bit from its seed", async () => {
    const c = tinyConfig({ vocabSize: 32 });
    const run = async (seed: number) => {
      const model = new LlamaModel(c, randomLlamaWeights(c, "train-repro", 0.1));
      const lora = initLora(
        c,
        { r: 2, alpha: 4, dropout: 0.1, targetModules: ["q_proj", "v_proj"], useRslora: false },
        seed,
      );
      await train(model, toyData(8), { epochs: 3, lr: 1e-2, batchSize: 2, seed, dropout: 0.1 }, lora);
      await model.release();
      return [...lora.tensors.values()].map((t) => Buffer.from(t.buffer).toString("hex")).join("");
    };
    const a = await run(11);
    expect(await run(11)).toBe(a);
    expect(await run(12)).not.toBe(a);
  });

  it("--max-steps semantics: N steps across reshuffled epochs, N is the schedule's length", async () => {
    const c = tinyConfig({ vocabSize: 32 });
    const settings = { r: 2, alpha: 4, dropout: 0.1, targetModules: ["q_proj", "v_proj"], useRslora: false };
    const model = new LlamaModel(c, randomLlamaWeights(c, "train-max-steps", 0.1));
    const run = async (o: { epochs: number; maxSteps?: number }) => {
      const lora = initLora(c, settings, 3);
      const epochs: number[] = [];
      const res = await train(
        model,
        toyData(6),
        {
          ...o,
          lr: 1e-2,
          batchSize: 4,
          warmupSteps: 1,
          seed: 3,
          dropout: 0.1,
          onStep: (s) => epochs.push(s.epoch),
        },
        lora,
      );
      const bytes = [...lora.tensors.values()].map((t) => Buffer.from(t.buffer).toString("hex")).join("");
      return { res, epochs, bytes };
    };
    // 6 examples in batches of 4: 2 steps an epoch. 5 steps run 3 epochs, the last one cut short.
    const five = await run({ epochs: 1, maxSteps: 5 });
    expect(five.res.steps).toBe(5);
    expect(five.epochs).toEqual([0, 0, 1, 1, 2]);
    const lrs = [0, 1, 0.75, 0.5, 0.25];
    for (const [i, s] of five.res.curve.entries()) expect(s.lr).toBeCloseTo(1e-2 * lrs[i], 15);
    // Whole epochs stated either way train the same adapter, bit for bit.
    const byEpochs = await run({ epochs: 2 });
    const bySteps = await run({ epochs: 1, maxSteps: 4 });
    expect(bySteps.bytes).toBe(byEpochs.bytes);
    expect(bySteps.res.curve).toEqual(byEpochs.res.curve);
    expect(five.bytes).not.toBe(byEpochs.bytes);
    await model.release();
  });

  it("stops with a clear error when the loss is not finite", async () => {
    const c = tinyConfig({ vocabSize: 32 });
    const w = randomLlamaWeights(c, "nan", 0.1);
    w.get("model.layers.1.mlp.up_proj.weight")![3] = Number.NaN;
    const model = new LlamaModel(c, w);
    const lora = initLora(
      c,
      { r: 2, alpha: 4, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false },
      1,
    );
    const err = await train(model, toyData(4), { epochs: 1, lr: 1e-2, batchSize: 2, seed: 1 }, lora).catch(
      (e) => e,
    );
    expect(err).toBeInstanceOf(TrainingDiverged);
    expect(err.message).toMatch(/diverged at step 1: loss is NaN/);
    await model.release();
  });
});
