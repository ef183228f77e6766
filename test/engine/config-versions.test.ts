/**
 * config.json as transformers 4 and 5 write it, and RoPE scaling, against fixtures/reference/llama-rope
 * (one tiny Llama under default θ=5e5, llama3 and linear RoPE, logits computed by transformers 5.17).
 */
import { copyFileSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  loadLlamaCheckpoint,
  parseLlamaConfig,
  saveLlamaCheckpoint,
} from "../../harness/engine/checkpoint.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import { ropeInvFreq } from "../../harness/engine/rope.ts";
import { openSafetensors } from "../../harness/engine/safetensors.ts";
import { ROOT } from "../cli-helpers.ts";
import { expectUserError, makeTmp } from "./helpers-io.ts";

const FIX = join(ROOT, "fixtures", "reference", "llama-rope");
const VARIANTS = ["default", "llama3", "linear"] as const;
const meta = JSON.parse(readFileSync(join(FIX, "meta.json"), "utf8"));
const rows: number[][] = meta.input_ids;
const tmp = makeTmp("rope");
// Measured (max |diff| / max |ref|): engine float32 vs stock transformers ≤ 4.4e-7; engine float64 vs
// transformers with its float32 casts lifted (`logits_fp64`) ≤ 7.1e-16 (both keep the RoPE angle in
// float64 there; rounding it to float32 as the float32 path does would cost 1.4e-8).
const TOL = 2e-6;
const TOL64 = 1e-14;
afterAll(tmp.cleanup);

const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));
const reference = (variant: string, name: string): Float64Array => {
  const f = openSafetensors(join(FIX, variant, "reference.safetensors"));
  const a = Float64Array.from(f.readF64(name));
  f.close();
  return a;
};

/** A checkpoint dir: the shared weights and one of the variant's config files. */
function checkpointDir(variant: string, configFile: string): string {
  const dir = join(tmp.dir, `${variant}-${configFile}`);
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(FIX, "default", "model.safetensors"), join(dir, "model.safetensors"));
  copyFileSync(join(FIX, variant, configFile), join(dir, "config.json"));
  return dir;
}

/** max |a - b| / max |b| over all positions and the vocabulary. */
function relDiff(engine: Float64Array[][], ref: Float64Array): number {
  let num = 0;
  let den = 0;
  let i = 0;
  for (const row of engine)
    for (const pos of row)
      for (const x of pos) {
        num = Math.max(num, Math.abs(x - ref[i]));
        den = Math.max(den, Math.abs(ref[i++]));
      }
  expect(i).toBe(ref.length);
  return num / den;
}

async function engineLogits(dir: string, float64: boolean, drop?: "scaling") {
  const ck = loadLlamaCheckpoint(dir);
  const config = drop ? { ...ck.config, ropeScaling: null } : ck.config;
  const weights = float64 ? new Map([...ck.weights].map(([k, v]) => [k, Float64Array.from(v)])) : ck.weights;
  const m = new LlamaModel(config, weights);
  try {
    return await m.logits(rows);
  } finally {
    await m.release();
  }
}

describe("transformers 4 and 5 config.json read alike", () => {
  it.each(VARIANTS)("%s: config.json (v5) and config.v4.json give the same config", (variant) => {
    const v5 = parseLlamaConfig(readJson(join(FIX, variant, "config.json")), "config.json");
    const v4 = parseLlamaConfig(readJson(join(FIX, variant, "config.v4.json")), "config.v4.json");
    expect(v5).toEqual(v4);
    expect(v5.ropeTheta).toBe(meta.variants[variant].rope_parameters_in.rope_theta);
    expect(v5.torchDtype).toBe("float32"); // "dtype" in v5, "torch_dtype" in v4
    expect(v5.ropeScaling?.type ?? "default").toBe(variant);
  });

  it.each(VARIANTS)("%s: inverse frequencies equal transformers' buffer bit for bit", (variant) => {
    const c = parseLlamaConfig(readJson(join(FIX, variant, "config.json")), "config.json");
    const ours = ropeInvFreq(c.headDim, { theta: c.ropeTheta, scaling: c.ropeScaling });
    expect(Array.from(ours)).toEqual(Array.from(reference(variant, "inv_freq")));
  });

  it("llama3's three bands are all present in the fixture (kept, blended, divided)", () => {
    const base = ropeInvFreq(16, { theta: 500000, scaling: null });
    const l3 = reference("llama3", "inv_freq");
    const ratios = Array.from(l3, (x, i) => base[i] / x);
    expect(ratios.filter((r) => r === 1).length).toBeGreaterThan(0);
    expect(ratios.filter((r) => Math.abs(r - 32) < 1e-5).length).toBeGreaterThan(0);
    expect(ratios.filter((r) => r > 1.001 && r < 31.9).length).toBeGreaterThan(0);
  });

  it("a saved checkpoint keeps the scaling (written as transformers 4 writes it)", () => {
    const src = loadLlamaCheckpoint(checkpointDir("llama3", "config.json"));
    const dir = join(tmp.dir, "resaved");
    saveLlamaCheckpoint(dir, src.config, src.weights);
    const back = loadLlamaCheckpoint(dir);
    expect(back.config.ropeScaling).toEqual(src.config.ropeScaling);
    expect(readJson(join(dir, "config.json")).rope_scaling.rope_type).toBe("llama3");
  });
});

describe("logits match transformers 5.17 (float64 reference) for each RoPE variant", () => {
  it.each(
    VARIANTS.flatMap((v) => [
      [v, "config.json"],
      [v, "config.v4.json"],
    ]),
  )(
    "%s from %s",
    async (variant, file) => {
      const dir = checkpointDir(variant, file);
      const ref = reference(variant, "logits_hf");
      expect(relDiff(await engineLogits(dir, false), ref)).toBeLessThan(TOL);
      const ref64 = reference(variant, "logits_fp64");
      expect(relDiff(await engineLogits(dir, true), ref64)).toBeLessThan(TOL64);
      if (variant !== "default") {
        // Without the scaling the engine would be wrong by far more than the tolerance.
        expect(relDiff(await engineLogits(dir, false, "scaling"), ref)).toBeGreaterThan(100 * TOL);
      }
    },
    60_000,
  );

  it("θ = 5e5 read from rope_parameters matters: plain θ = 1e4 misses by far more", async () => {
    const dir = checkpointDir("default", "config.json");
    const ck = loadLlamaCheckpoint(dir);
    const m = new LlamaModel({ ...ck.config, ropeTheta: 10000 }, ck.weights);
    const wrong = await m.logits(rows);
    await m.release();
    expect(relDiff(wrong, reference("default", "logits_hf"))).toBeGreaterThan(100 * TOL);
  }, 60_000);
});

describe("config fields the engine does not implement are refused, one line naming the field", () => {
  const base = readJson(join(FIX, "default", "config.json"));
  const v4 = readJson(join(FIX, "llama3", "config.v4.json"));
  const cases: [string, Record<string, unknown>, RegExp][] = [
    [
      "unknown rope_type (v5)",
      { ...base, rope_parameters: { rope_type: "yarn", rope_theta: 1e4, factor: 4 } },
      /rope_type "yarn" \(rope_parameters\) is unsupported; lora-bench implements default, linear, llama3/,
    ],
    [
      "unknown rope type (v4 'type')",
      { ...v4, rope_scaling: { type: "dynamic", factor: 2 } },
      /rope_type "dynamic" \(rope_scaling\) is unsupported/,
    ],
    [
      "llama3 without low_freq_factor",
      { ...v4, rope_scaling: { ...v4.rope_scaling, low_freq_factor: undefined } },
      /rope_scaling.low_freq_factor is missing/,
    ],
    [
      "linear factor not a number",
      { ...base, rope_parameters: { rope_type: "linear", factor: "2" } },
      /rope_parameters.factor must be a positive number, got "2"/,
    ],
    [
      "theta conflict",
      { ...base, rope_theta: 10000 },
      /rope_theta 10000 conflicts with rope_parameters.rope_theta 500000/,
    ],
    [
      "v4 and v5 disagree",
      { ...v4, rope_parameters: { rope_type: "linear", factor: 32 } },
      /rope_parameters.rope_type "linear" conflicts with rope_scaling.rope_type "llama3"/,
    ],
    [
      "per-layer-type rope",
      { ...base, rope_parameters: { full_attention: { rope_type: "default" } } },
      /rope_parameters.full_attention is a nested object/,
    ],
    ["partial rotary", { ...base, partial_rotary_factor: 0.5 }, /partial_rotary_factor 0.5 is unsupported/],
    ["attention_bias", { ...base, attention_bias: true }, /attention_bias true is unsupported/],
    ["mlp_bias", { ...base, mlp_bias: true }, /mlp_bias true is unsupported/],
    ["attention_dropout", { ...base, attention_dropout: 0.1 }, /attention_dropout 0.1 is unsupported/],
    [
      "quantized",
      { ...base, quantization_config: { quant_method: "bitsandbytes" } },
      /quantization_config is unsupported/,
    ],
  ];
  it.each(cases)("%s", (_name, json, re) => {
    expectUserError(() => parseLlamaConfig(json, "/m/config.json"), "/m/config.json", re);
  });

  it("fields that do not change the numbers are accepted", () => {
    const c = parseLlamaConfig(
      {
        ...base,
        pretraining_tp: 2,
        attention_dropout: 0.0,
        mlp_bias: false,
        rope_scaling: null,
        torch_dtype: "bfloat16",
      },
      "config.json",
    );
    expect(c.ropeTheta).toBe(500000);
  });
});
