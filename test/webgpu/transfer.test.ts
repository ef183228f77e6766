/**
 * What crosses between host and device per decode step on WebGPU: weights live in the session, the KV
 * cache stays in device buffers (fed back as gpu-buffer tensors), only logits come down.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Checkpoint, loadLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { disposeCache, LlamaModel } from "../../harness/engine/model.ts";
import { ROOT } from "../cli-helpers.ts";

let ckpt: Checkpoint;
let model: LlamaModel;

beforeAll(() => {
  ckpt = loadLlamaCheckpoint(`${ROOT}/fixtures/tiny`);
  model = new LlamaModel(ckpt.config, ckpt.weights, { device: "webgpu" });
});
afterAll(() => model.release());

describe("bytes moved per decode step on WebGPU", () => {
  it("keeps the KV cache on the device; only ids, rotary tables, the mask row and logits move", async () => {
    const c = ckpt.config;
    const rows = [
      [1, 20, 30, 40],
      [1, 7, 8, 9],
    ];
    const B = rows.length;
    const mask = rows.map((r) => r.map(() => true));
    const prefill = await model.decodeStep(rows, null, mask, [
      [0, 1, 2, 3],
      [0, 1, 2, 3],
    ]);
    for (const t of [...prefill.cache.keys, ...prefill.cache.values])
      expect(ArrayBuffer.isView(t), "a cache tensor came back to the host").toBe(false);

    const K = 5;
    const step = await model.decodeStep(
      [[5], [6]],
      prefill.cache,
      mask.map((m) => [...m, true]),
      [[4], [4]],
    );
    const { up, down } = model.lastTransfer;
    expect(down).toEqual({ logits: B * c.vocabSize * 4 });
    expect(Object.keys(up).filter((n) => n.startsWith("past_"))).toEqual([]);
    // Weights are session initializers, uploaded once; a step uploads exactly these.
    const perStep = {
      input_ids: B * 8,
      rope_cos: B * c.headDim * 4,
      rope_sin: B * c.headDim * 4,
      attn_bias: B * K * 4,
    };
    expect(up).toEqual(perStep);
    console.info(
      `decode step (B=${B}, K=${K}): up ${Object.values(perStep).reduce((a, b) => a + b, 0)} B (ids, rotary rows, mask row), down ${down.logits} B (logits); weights and KV cache 0 B`,
    );
    disposeCache(prefill.cache);
    disposeCache(step.cache);
  });
});
