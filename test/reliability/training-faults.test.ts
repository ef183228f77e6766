/**
 * A diverging arm is stopped, recorded as failed (step and reason) and the other arms complete:
 * on a real study (alpha 1e300 makes PEFT's scaling alpha/r overflow float32 to Infinity, and
 * Infinity × B = 0 is NaN in the first forward) and on the training loop with a stub model.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { LlamaModel } from "../../harness/engine/model.ts";
import { TrainingDiverged, train } from "../../harness/engine/train.ts";
import { tempDir } from "../cli-helpers.ts";
import { buildFixtures, studyConfig } from "./cases.ts";
import { inspectCache, latestReport, runStudy } from "./study.ts";

const root = tempDir("lora-bench-faults-");
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("training faults", () => {
  it("an arm whose loss turns NaN fails alone; the report records step and reason, other arms have metrics", async () => {
    const fx = await buildFixtures(join(root, "fx"));
    const dir = join(root, "study");
    const file = studyConfig(dir, { model: fx.model, dataset: fx.dataset });
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        '{ id: "lora-r8", kind: "lora", r: 8 }]',
        '{ id: "lora-r8", kind: "lora", r: 8 }, { id: "lora-r32", kind: "lora", r: 32, alpha: 1e300 }]',
      ),
    );
    const r = await runStudy(file);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/lora-r32 seed 1 failed: loss is NaN/);
    const report = latestReport(join(dir, "reports"));
    const arm = (id: string) => report.arms.find((a) => a.id === id)!;
    expect(arm("lora-r32").seeds).toEqual([
      expect.objectContaining({
        seed: 1,
        status: "failed",
        error: { step: 1, reason: "loss is NaN" },
        metrics: null,
      }),
    ]);
    // No successful seed: no numbers are made up for the arm.
    expect(arm("lora-r32").metrics).toBeNull();
    for (const id of ["base", "lora-r8"]) {
      expect(arm(id).seeds.every((s) => s.status === "ok" && s.metrics !== null)).toBe(true);
      expect(arm(id).metrics?.rouge1.mean).toBeTypeOf("number");
    }
    // Claims that need r=32 cannot be judged; they say so rather than fail or hold.
    for (const c of report.claims.filter((c) => /r=32/.test(c.name) && !/rsLoRA|sweep/.test(c.name)))
      expect(c.verdict, c.name).toBe("inconclusive");
    // The failure is cached like a result: a rerun does not train the arm again.
    expect([...inspectCache(join(dir, "cache")).entries.values()].map((e) => e.status).sort()).toEqual([
      "failed",
      "ok",
      "ok",
    ]);
    const again = await runStudy(file);
    expect(again.stderr).toMatch(/0 unit\(s\) computed, 3 from cache/);
  }, 120_000);

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
