/**
 * The training loop stops at the step where the loss or the gradient norm stops being finite, with
 * TrainingDiverged(step, reason). (On a real study: crash.test.ts, whose r=32 arm diverges on purpose
 * and must come out as failed in the report while the other arms complete.)
 */
import { describe, expect, it } from "vitest";
import type { LlamaModel } from "../../harness/engine/model.ts";
import { TrainingDiverged, train } from "../../harness/engine/train.ts";

describe("training faults", () => {
  /** A stand-in for LlamaModel whose k-th call returns the given loss and gradient value. */
  function stub(plan: { loss: number; grad: number }[]): LlamaModel {
    let call = 0;
    return {
      weights: new Map([["w", new Float32Array(2)]]),
      dropoutInputs: () => [],
      lossAndGrads: async () => {
        const p = plan[Math.min(call++, plan.length - 1)];
        return {
          loss: p.loss,
          grads: new Map([["w", new Float32Array([p.grad, 0.5])]]),
          tokens: 2,
          padded: 0,
        };
      },
    } as unknown as LlamaModel;
  }
  const data = Array.from({ length: 8 }, () => ({ inputIds: [1, 2, 3], labels: [-100, 2, 3] }));
  const ok = { loss: 1, grad: 0.1 };

  it.each([
    ["NaN loss at step 2", [ok, { loss: Number.NaN, grad: 0.1 }], 2, "loss is NaN"],
    ["infinite loss at step 1", [{ loss: Number.POSITIVE_INFINITY, grad: 0.1 }], 1, "loss is Infinity"],
    [
      "infinite gradient at step 3",
      [ok, ok, { loss: 1, grad: Number.POSITIVE_INFINITY }],
      3,
      "gradient norm is Infinity",
    ],
    ["NaN gradient at step 4", [ok, ok, ok, { loss: 1, grad: Number.NaN }], 4, "gradient norm is NaN"],
  ] as const)("%s stops training with TrainingDiverged(step, reason)", async (_, plan, step, reason) => {
    const p = train(stub([...plan]), data, { epochs: 1, lr: 1e-3, batchSize: 2, seed: 1 });
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TrainingDiverged);
    expect(err).toMatchObject({ step, reason });
  });
});
