/**
 * The train command's translation of its flags: optimizer defaults (transformers' TrainingArguments
 * and torch's AdamW), and the starting adapter, fresh or from --init-adapter.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { optimizerOptions, startingAdapter } from "../../harness/cli/commands/train-flags.ts";
import { parseLlamaConfig } from "../../harness/engine/checkpoint.ts";
import { initLora } from "../../harness/engine/lora.ts";
import { openSafetensors } from "../../harness/engine/safetensors.ts";
import { ROOT } from "../cli-helpers.ts";

const TRACE = join(ROOT, "fixtures", "reference", "trace");
const INIT = join(TRACE, "adapter-init");
const config = parseLlamaConfig(
  JSON.parse(readFileSync(join(TRACE, "base", "config.json"), "utf8")),
  "config.json",
);

describe("optimizer flags", () => {
  it("default to TrainingArguments' and AdamW's values", () => {
    expect(optimizerOptions({})).toEqual({
      epochs: 3,
      maxSteps: undefined,
      lr: 2e-4,
      batchSize: 4,
      gradAccum: 1,
      weightDecay: 0,
      warmupSteps: undefined,
      warmupRatio: 0,
      maxGradNorm: 1,
      betas: [0.9, 0.999],
      eps: 1e-8,
    });
  });

  it("carry each stated value", () => {
    const o = optimizerOptions({
      "max-steps": "3",
      lr: "0.01",
      "batch-size": "4",
      "grad-accum": "2",
      "weight-decay": "0.1",
      "warmup-steps": "1",
      "max-grad-norm": "0",
      "adam-beta1": "0.8",
      "adam-beta2": "0.95",
      "adam-eps": "1e-6",
    });
    expect(o).toMatchObject({
      maxSteps: 3,
      lr: 0.01,
      batchSize: 4,
      gradAccum: 2,
      weightDecay: 0.1,
      warmupSteps: 1,
      maxGradNorm: 0,
      betas: [0.8, 0.95],
      eps: 1e-6,
    });
  });
});

describe("the starting adapter", () => {
  const file = openSafetensors(join(INIT, "adapter_model.safetensors"));
  const stored = new Map([...file.tensors.keys()].map((k) => [k, file.readF64(k)]));
  file.close();

  it("--init-adapter: the file's settings and tensors; --dropout may differ, the rest may be restated", () => {
    const { settings, lora } = startingAdapter(
      { "init-adapter": INIT, rank: "4", targets: "v_proj,q_proj", dropout: "0.1" },
      config,
      1,
      true,
    );
    expect(settings).toEqual({
      r: 4,
      alpha: 8,
      dropout: 0.1,
      targetModules: ["q_proj", "v_proj"],
      useRslora: false,
    });
    expect(lora.spec).toMatchObject({ r: 4, scaling: 2, targets: ["q_proj", "v_proj"] });
    expect([...lora.tensors.keys()].sort()).toEqual([...stored.keys()].sort());
    for (const [k, v] of stored) {
      expect(lora.tensors.get(k)).toBeInstanceOf(Float64Array);
      expect(lora.tensors.get(k)).toEqual(v);
    }
    const f32 = startingAdapter({ "init-adapter": INIT }, config, 1, false).lora;
    for (const [k, v] of stored) expect(f32.tensors.get(k)).toEqual(Float32Array.from(v));
  });

  it("fresh: the seed's init, widened exactly for float64", () => {
    const settings = { r: 2, alpha: 4, dropout: 0, targetModules: ["k_proj"], useRslora: true };
    const want = initLora(config, settings, 9);
    const flags = { rank: "2", alpha: "4", dropout: "0", targets: "k_proj", rslora: true };
    const wide = startingAdapter(flags, config, 9, true);
    expect(wide.settings).toEqual(settings);
    expect(wide.lora.spec).toEqual(want.spec);
    for (const [k, v] of want.tensors) expect(wide.lora.tensors.get(k)).toEqual(Float64Array.from(v));
  });
});
