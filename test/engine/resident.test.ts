import { afterEach, describe, expect, it, vi } from "vitest";
import { randomLlamaWeights } from "../../harness/engine/checkpoint.ts";
import { dropoutMasks } from "../../harness/engine/lora.ts";
import { type FArr, LlamaModel } from "../../harness/engine/model.ts";
import { type FeedTensor, Session } from "../../harness/engine/session.ts";
import { rngStream } from "../../harness/rng.ts";
import { randomLora, tinyConfig } from "./tiny.ts";

const c = tinyConfig();
const settings = { r: 2, alpha: 4, dropout: 0.1, targetModules: ["q_proj", "v_proj"], useRslora: false };

/** Every run()'s feeds, as (name, bytes, buffer) triples, recorded at the Session boundary. */
function recordFeeds() {
  const runs: { name: string; bytes: number; buffer: ArrayBufferLike }[][] = [];
  const original = Session.prototype.run;
  vi.spyOn(Session.prototype, "run").mockImplementation(function (
    this: Session,
    feeds: Parameters<Session["run"]>[0],
    outputs?: string[],
  ) {
    // CPU sessions: every feed is a host array (device-resident tensors exist only on WebGPU).
    runs.push(
      Object.entries(feeds).map(([name, f]) => {
        const data = (f as FeedTensor).data;
        return { name, bytes: data.byteLength, buffer: data.buffer };
      }),
    );
    return original.call(this, feeds, outputs);
  });
  return runs;
}

/** Bytes of a run's feeds that are checkpoint weights: by name, or by sharing a weight's buffer. */
function weightBytes(run: { name: string; bytes: number; buffer: ArrayBufferLike }[], w: Map<string, FArr>) {
  const buffers = new Set([...w.values()].map((x) => x.buffer));
  return run.filter((f) => w.has(f.name) || buffers.has(f.buffer)).reduce((n, f) => n + f.bytes, 0);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("weights resident in the session", () => {
  it("a LoRA training step and a decode step feed no weight bytes; full fine-tuning feeds them all", async () => {
    const weights = randomLlamaWeights(c, "resident", 0.3) as Map<string, FArr>;
    const model = new LlamaModel(c, weights);
    const lora = randomLora(c, settings, "resident-lora", false);
    const runs = recordFeeds();
    const ids = [1, 5, 9, 13, 7, 3];
    const masks = dropoutMasks(
      model.dropoutInputs({ ...lora.spec, dropout: true }),
      [rngStream(1, "dropout")],
      [ids.length],
      ids.length,
      0.1,
    );
    const step = await model.lossAndGrads({ inputIds: [ids], labels: [ids] }, { lora, masks });
    expect(Number.isFinite(step.loss)).toBe(true);
    const mask = [ids.map(() => true)];
    const positions = [ids.map((_, t) => t)];
    const prefill = await model.decodeStep([ids], null, mask, positions, lora);
    await model.decodeStep([[4]], prefill.cache, [[...mask[0], true]], [[ids.length]], lora);
    expect(runs).toHaveLength(3);
    for (const run of runs) {
      expect(run.length).toBeGreaterThan(0);
      expect(weightBytes(run, weights)).toBe(0);
    }
    expect(await model.weightBytesFed("loss")).toBe(0);
    expect(await model.weightBytesFed("decode")).toBe(0);

    // The control: training every weight feeds each of them on every run, and the spy sees it.
    const all = [...new Set(weights.values())].reduce((n, x) => n + x.byteLength, 0);
    await model.lossAndGrads({ inputIds: [ids], labels: [ids] }, { trainable: "all" });
    expect(weightBytes(runs[3], weights)).toBe(all);
    expect(await model.weightBytesFed("loss")).toBe(all);
    await model.release();
  });

  it("a loss over resident weights equals the loss over the same weights fed per run", async () => {
    const weights = randomLlamaWeights(c, "same", 0.3) as Map<string, FArr>;
    const ids = [[1, 4, 8, 15, 16, 23]];
    // Full fine-tuning's graph takes every weight as a fed input.
    const fed = new LlamaModel(c, weights);
    const a = await fed.lossAndGrads({ inputIds: ids, labels: ids }, { trainable: "all" });
    await fed.release();
    const resident = new LlamaModel(c, weights);
    const b = await resident.lossAndGrads({ inputIds: ids, labels: ids });
    await resident.release();
    expect(b.loss).toBe(a.loss);
  });
});

describe("session lifecycle", () => {
  it("oneSession keeps at most one session alive; release(kind) frees one kind", async () => {
    const weights = randomLlamaWeights(c, "life", 0.3) as Map<string, FArr>;
    const ids = [1, 2, 3, 4];
    const one = new LlamaModel(c, weights, { oneSession: true });
    await one.lossAndGrads({ inputIds: [ids], labels: [ids] });
    expect(await one.liveSessions()).toEqual(["loss"]);
    await one.decodeStep([ids], null, [ids.map(() => true)], [ids.map((_, t) => t)]);
    expect(await one.liveSessions()).toEqual(["decode"]);
    await one.release();
    expect(await one.liveSessions()).toEqual([]);

    const many = new LlamaModel(c, weights);
    await many.lossAndGrads({ inputIds: [ids], labels: [ids] });
    await many.logits([ids]);
    expect((await many.liveSessions()).sort()).toEqual(["logits", "loss"]);
    await many.release("loss");
    expect(await many.liveSessions()).toEqual(["logits"]);
    await many.release();
  });

  it("full fine-tuning retires sessions holding a stale copy of the weights", async () => {
    const weights = randomLlamaWeights(c, "stale", 0.3) as Map<string, FArr>;
    const model = new LlamaModel(c, weights);
    const ids = [1, 6, 2, 9];
    const before = (await model.logits([ids]))[0][3][0];
    await model.lossAndGrads({ inputIds: [ids], labels: [ids] }, { trainable: "all" });
    expect(await model.liveSessions()).toEqual(["loss"]);
    // An optimizer step updates the weights in place; the next logits must see it.
    for (const x of weights.values()) for (let i = 0; i < x.length; i++) x[i] *= 1.5;
    const after = (await model.logits([ids]))[0][3][0];
    expect(after).not.toBe(before);
    await model.release();
  });
});
