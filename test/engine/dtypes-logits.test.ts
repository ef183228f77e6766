import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  loadLlamaCheckpoint,
  randomLlamaWeights,
  saveLlamaCheckpoint,
} from "../../harness/engine/checkpoint.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import { tempDir } from "../cli-helpers.ts";
import { tinyConfig } from "./tiny.ts";

describe("checkpoint dtypes and sharding give the same logits", () => {
  it("F16, BF16 and sharded F32 agree with F32 within each dtype's rounding", async () => {
    const c = tinyConfig({ vocabSize: 64, hiddenSize: 32, headDim: 8, intermediateSize: 48 });
    const w = randomLlamaWeights(c, "dtypes", 0.2);
    const dir = tempDir();
    const ids = [[1, 9, 17, 33, 60, 2, 5]];
    const logitsOf = async (sub: string, opts: Parameters<typeof saveLlamaCheckpoint>[3]) => {
      saveLlamaCheckpoint(join(dir, sub), c, w, opts);
      const ck = loadLlamaCheckpoint(join(dir, sub));
      const m = new LlamaModel(ck.config, ck.weights);
      const [rows] = await m.logits(ids);
      await m.release();
      return { rows, files: ck.files };
    };
    const ref = await logitsOf("f32", { dtype: "F32" });
    const maxDiff = (a: Float64Array[], b: Float64Array[]) =>
      Math.max(...a.map((row, t) => Math.max(...Array.from(row, (x, v) => Math.abs(x - b[t][v])))));
    const scale = Math.max(...ref.rows.map((r) => Math.max(...Array.from(r, Math.abs))));

    const sharded = await logitsOf("sharded", { dtype: "F32", shardBytes: 20_000 });
    expect(sharded.files.filter((f) => f.endsWith(".safetensors")).length).toBeGreaterThan(2);
    expect(maxDiff(sharded.rows, ref.rows)).toBe(0);

    const f16 = maxDiff((await logitsOf("f16", { dtype: "F16" })).rows, ref.rows);
    const bf16 = maxDiff((await logitsOf("bf16", { dtype: "BF16" })).rows, ref.rows);
    // Weight rounding: 2^-11 relative for F16, 2^-8 for BF16; through a few layers the logits move
    // by a small multiple of that, and BF16 clearly more than F16.
    expect(f16).toBeGreaterThan(0);
    expect(f16 / scale).toBeLessThan(2e-3);
    expect(bf16 / scale).toBeLessThan(2e-2);
    expect(bf16).toBeGreaterThan(f16);
  });
});
