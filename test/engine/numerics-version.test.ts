/**
 * The guard behind the explicit numerics version (harness/engine/version.ts): the embedded tiny model
 * is trained and decoded through the study's own path (context → prompts → training with dropout →
 * greedy decoding), and what comes out must equal the fingerprint recorded for NUMERICS_VERSION. A
 * change that moves these numbers without bumping the version — and so would let a cache serve stale
 * results — fails here.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import config from "../../bench.config.ts";
import { loadLlamaCheckpoint } from "../../harness/engine/checkpoint.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import { NUMERICS_VERSION } from "../../harness/engine/version.ts";
import { runUnit } from "../../harness/study/arm.ts";
import { buildContext, planUnits } from "../../harness/study/plan.ts";
import { tempDir } from "../cli-helpers.ts";

/** Recorded with `LORA_BENCH_PRINT_FINGERPRINT=1 npx vitest run test/engine/numerics-version.test.ts`. */
const FINGERPRINT = {
  version: 3,
  promptIds: "fb733985deed851c",
  losses: [0.4467368, 0.7144378, 0.7589431, 0.4380515],
  gradNorms: [0.1312761, 0.207533, 0.2466039, 0.1348578],
  predictions: "7e5f237b0733874e",
};

const sig = (x: number) => Number(x.toPrecision(7));
const sha = (x: unknown) => createHash("sha256").update(JSON.stringify(x)).digest("hex").slice(0, 16);

describe("engine numerics version", () => {
  it("the tiny model's training curve, prompts and greedy summaries match this version's fingerprint", async () => {
    const tiny = config.profiles.tiny;
    const profile = {
      ...tiny,
      name: "tiny",
      data: { ...tiny.data, trainN: 4, evalN: 2 },
      training: { ...tiny.training, epochs: 2, batchSize: 2 },
      decoding: { maxNewTokens: 12, batchSize: 2 },
      arms: [{ id: "lora-r8", kind: "lora" as const, r: 8 }],
      sweep: undefined,
      seeds: [1],
      device: "cpu" as const,
    };
    const ctx = await buildContext(profile, tempDir("lora-bench-numerics-"));
    const [unit] = planUnits(ctx);
    const ck = loadLlamaCheckpoint(ctx.modelDir);
    const model = new LlamaModel(ck.config, ck.weights);
    const { result } = await runUnit(ctx, model, unit, () => {});
    await model.release();
    const got = {
      version: NUMERICS_VERSION,
      promptIds: sha(ctx.evalPrompts.map((p) => p.promptIds)),
      losses: result.train!.curve.map((c) => sig(c.loss)),
      gradNorms: result.train!.curve.map((c) => sig(c.gradNorm)),
      predictions: sha(result.predictions),
    };
    if (process.env.LORA_BENCH_PRINT_FINGERPRINT) console.log(JSON.stringify(got));
    const advice = "engine numerics changed: bump NUMERICS_VERSION and record the new fingerprint";
    expect(got.version, "a new NUMERICS_VERSION needs its fingerprint recorded here").toBe(
      FINGERPRINT.version,
    );
    expect(got.promptIds, advice).toBe(FINGERPRINT.promptIds);
    expect(got.predictions, advice).toBe(FINGERPRINT.predictions);
    // Losses and norms to ~1e-6 relative: summation order may differ between CPUs, a change may not.
    for (const k of ["losses", "gradNorms"] as const) {
      expect(got[k].length, advice).toBe(FINGERPRINT[k].length);
      for (const [i, x] of got[k].entries())
        expect(Math.abs(x - FINGERPRINT[k][i]), advice).toBeLessThan(1e-5 * Math.abs(x));
    }
  });
});
