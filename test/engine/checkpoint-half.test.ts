import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  loadLlamaCheckpoint,
  randomLlamaWeights,
  saveLlamaCheckpoint,
} from "../../harness/engine/checkpoint.ts";
import { f32ToF16 } from "../../harness/engine/dtype.ts";
import { defaultStorage } from "../../harness/engine/storage.ts";
import { UserError } from "../../harness/errors.ts";
import { tempDir } from "../cli-helpers.ts";
import { tinyConfig } from "./tiny.ts";

const c = tinyConfig();

describe("loading into float16 storage", () => {
  for (const dtype of ["F32", "F16", "BF16"] as const) {
    it(`a ${dtype} checkpoint becomes half matrices with no float32 copy of them`, () => {
      const dir = join(tempDir(), "m");
      saveLlamaCheckpoint(dir, c, randomLlamaWeights(c, "half-load", 0.2), { dtype });
      const full = loadLlamaCheckpoint(dir);
      const ck = loadLlamaCheckpoint(dir, { storage: "float16" });
      expect([...ck.weights.keys()].sort()).toEqual(
        [...full.weights.keys()].filter((k) => k.endsWith("norm.weight")).sort(),
      );
      expect(ck.half.size + ck.weights.size).toBe(full.weights.size);
      for (const [name, h] of ck.half) {
        // Rounding the file's values straight to fp16 (BF16 → fp16 goes through the exact fp32 value).
        expect(h).toEqual(f32ToF16(full.weights.get(name)!));
      }
    });
  }

  it("keeps tied embeddings as one half array", () => {
    const t = tinyConfig({ tieWordEmbeddings: true });
    const dir = join(tempDir(), "tied");
    const w = randomLlamaWeights(t, "tied", 0.2);
    w.delete("lm_head.weight");
    saveLlamaCheckpoint(dir, t, w, { dtype: "BF16" });
    const ck = loadLlamaCheckpoint(dir, { storage: "float16" });
    expect(ck.half.get("lm_head.weight")).toBe(ck.half.get("model.embed_tokens.weight"));
  });

  it("refuses a weight that float16 cannot hold, naming the tensor and the file", () => {
    const dir = join(tempDir(), "big");
    const w = randomLlamaWeights(c, "big", 0.2);
    w.get("model.layers.1.mlp.up_proj.weight")![3] = 1e6;
    saveLlamaCheckpoint(dir, c, w, { dtype: "BF16" });
    expect(() => loadLlamaCheckpoint(dir, { storage: "float16" })).toThrow(UserError);
    expect(() => loadLlamaCheckpoint(dir, { storage: "float16" })).toThrow(/up_proj.*float16 cannot hold/);
    expect(loadLlamaCheckpoint(dir).weights.get("model.layers.1.mlp.up_proj.weight")![3]).toBe(999424);
  });

  it("defaults to float16 on cuda and float32 elsewhere", () => {
    expect(defaultStorage("cuda")).toBe("float16");
    expect(defaultStorage("cpu")).toBe("float32");
    expect(defaultStorage(undefined)).toBe("float32");
  });
});
