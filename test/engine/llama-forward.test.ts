import { describe, expect, it } from "vitest";
import { mergeLora } from "../../harness/engine/lora.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import { referenceLogits } from "./reference-llama.ts";
import { randomLora, tinyConfig, weightsF64 } from "./tiny.ts";

const ALL = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"];

function maxAbsDiff(a: ArrayLike<number>[], b: ArrayLike<number>[]): number {
  let m = 0;
  a.forEach((row, i) => {
    for (let j = 0; j < row.length; j++) m = Math.max(m, Math.abs(row[j] - b[i][j]));
  });
  return m;
}

describe("Llama forward vs an independent naive implementation (fp64)", () => {
  for (const [label, over] of [
    ["GQA, untied", {}],
    ["MHA, tied embeddings, theta 500000", { numKvHeads: 4, tieWordEmbeddings: true, ropeTheta: 500000 }],
    ["MQA, head_dim ≠ hidden/heads", { numKvHeads: 1, headDim: 6 }],
  ] as const) {
    it(`matches logits at every position (${label})`, async () => {
      const c = tinyConfig(over);
      const w = weightsF64(c, `fwd-${label}`);
      const model = new LlamaModel(c, w);
      const ids = [1, 7, 3, 3, 12, 39, 0, 5];
      const [got] = await model.logits([ids]);
      const want = referenceLogits(c, w, ids);
      expect(maxAbsDiff(got, want)).toBeLessThan(1e-10);
      await model.release();
    });
  }

  it("matches with LoRA on every target, and merged == unmerged", async () => {
    const c = tinyConfig();
    const w = weightsF64(c, "fwd-lora");
    const lora = randomLora(
      c,
      { r: 3, alpha: 6, dropout: 0, targetModules: ALL, useRslora: true },
      "fwd-lora-a",
    );
    const model = new LlamaModel(c, w);
    const ids = [1, 4, 9, 16, 25, 36];
    const [got] = await model.logits([ids], lora);
    expect(maxAbsDiff(got, referenceLogits(c, w, ids, lora))).toBeLessThan(1e-10);
    const merged = new LlamaModel(c, mergeLora(c, w, lora));
    const [m] = await merged.logits([ids]);
    expect(maxAbsDiff(got, m)).toBeLessThan(1e-10);
    const [base] = await model.logits([ids]);
    expect(maxAbsDiff(got, base)).toBeGreaterThan(1e-3); // the adapter does something
    await model.release();
    await merged.release();
  });

  it("gives each row of a right-padded batch the logits it has alone", async () => {
    const c = tinyConfig();
    const model = new LlamaModel(c, weightsF64(c, "fwd-batch"));
    const rows = [
      [1, 2, 3, 4, 5, 6],
      [1, 9],
      [1, 30, 31, 32],
    ];
    const batched = await model.logits(rows);
    for (let b = 0; b < rows.length; b++) {
      const [alone] = await model.logits([rows[b]]);
      expect(maxAbsDiff(batched[b], alone)).toBeLessThan(1e-12);
    }
    await model.release();
  });
});
