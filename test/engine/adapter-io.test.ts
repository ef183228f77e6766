import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type LoraConfig, loadAdapter, loraScaling, saveAdapter } from "../../harness/engine/adapter-io.ts";
import { LORA_MODULES, loraKey as peftKey } from "../../harness/engine/architecture.ts";
import { type LlamaConfig, parseLlamaConfig, sha256OfFiles } from "../../harness/engine/checkpoint.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../harness/engine/dtype.ts";
import { openSafetensors, type StTensorInput, writeSafetensors } from "../../harness/engine/safetensors.ts";
import { rngStream } from "../../harness/rng.ts";
import { expectUserError, makeTmp } from "./helpers-io.ts";

const tmp = makeTmp("adapter");
afterAll(tmp.cleanup);
let dirNo = 0;
const freshDir = () => join(tmp.dir, `a${++dirNo}`);

const MODEL: LlamaConfig = parseLlamaConfig(
  {
    model_type: "llama",
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 32,
  },
  "tiny",
);

const CFG: LoraConfig = {
  r: 4,
  alpha: 8,
  dropout: 0.05,
  targetModules: ["v_proj", "q_proj"],
  useRslora: false,
  bias: "none",
  fanInFanOut: false,
};

/** [in, out] of each target for MODEL. */
const IO: Record<string, [number, number]> = {
  q_proj: [16, 16],
  k_proj: [16, 8],
  v_proj: [16, 8],
  o_proj: [16, 16],
  gate_proj: [16, 24],
  up_proj: [16, 24],
  down_proj: [24, 16],
};

function randomAdapter(cfg: LoraConfig, seed: string) {
  const rng = rngStream(seed, "adapter-test");
  const tensors = new Map<string, Float32Array>();
  const shapes = new Map<string, number[]>();
  for (let i = 0; i < MODEL.numLayers; i++) {
    for (const m of cfg.targetModules) {
      const [inF, outF] = IO[m];
      for (const [which, shape] of [
        ["A", [cfg.r, inF]],
        ["B", [outF, cfg.r]],
      ] as const) {
        const a = new Float32Array(shape[0] * shape[1]).map(() => rng.normal() * 0.1);
        tensors.set(peftKey(i, m, which), a);
        shapes.set(peftKey(i, m, which), [...shape]);
      }
    }
  }
  return { tensors, shapes };
}

/** PEFT 0.13's adapter_config.json for r=4 on q/v (what save_pretrained writes). */
const PYTHON_CONFIG = {
  alpha_pattern: {},
  auto_mapping: null,
  base_model_name_or_path: "TinyLlama/TinyLlama-1.1B-Chat-v1.0",
  bias: "none",
  fan_in_fan_out: false,
  inference_mode: true,
  init_lora_weights: true,
  layer_replication: null,
  layers_pattern: null,
  layers_to_transform: null,
  loftq_config: {},
  lora_alpha: 8,
  lora_dropout: 0.05,
  megatron_config: null,
  megatron_core: "megatron.core",
  modules_to_save: null,
  peft_type: "LORA",
  r: 4,
  rank_pattern: {},
  revision: null,
  target_modules: ["q_proj", "v_proj"],
  task_type: "CAUSAL_LM",
  use_dora: false,
  use_rslora: false,
};

/** Write an adapter directory the way Python would: config JSON + safetensors with given keys/dtype. */
function writePython(
  dir: string,
  config: unknown,
  tensors: Map<string, Float32Array>,
  shapes: Map<string, number[]>,
  opts: { dtype?: "F32" | "F16" | "BF16"; rename?: (k: string) => string } = {},
) {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(config, null, 2));
  const st: Record<string, StTensorInput> = {};
  for (const [k, v] of tensors) {
    const dtype = opts.dtype ?? "F32";
    const data = dtype === "F32" ? v : dtype === "F16" ? f32ToF16(v) : f32ToBf16(v);
    st[opts.rename ? opts.rename(k) : k] = { dtype, shape: shapes.get(k)!, data };
  }
  writeSafetensors(join(dir, "adapter_model.safetensors"), st, { format: "pt" });
}

describe("PEFT adapter format", () => {
  it("peftKey and loraScaling follow PEFT", () => {
    expect(peftKey(3, "q_proj", "A")).toBe("base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight");
    expect(peftKey(0, "down_proj", "B")).toBe("base_model.model.model.layers.0.mlp.down_proj.lora_B.weight");
    expect(() => peftKey(0, "lm_head", "A")).toThrow();
    expect(loraScaling(CFG)).toBe(2);
    expect(loraScaling({ ...CFG, r: 16, useRslora: true })).toBe(2);
    expect(Object.keys(LORA_MODULES)).toHaveLength(7);
  });

  it("round-trips, writes PEFT's config fields and deterministic bytes", () => {
    const { tensors, shapes } = randomAdapter(CFG, "rt");
    const a = freshDir();
    const b = freshDir();
    saveAdapter(a, CFG, tensors, shapes, "TinyLlama/TinyLlama-1.1B-Chat-v1.0");
    saveAdapter(b, CFG, new Map([...tensors].reverse()), shapes, "TinyLlama/TinyLlama-1.1B-Chat-v1.0");
    expect(readdirSync(a).sort()).toEqual(["adapter_config.json", "adapter_model.safetensors"]);
    const files = (d: string) => ["adapter_config.json", "adapter_model.safetensors"].map((f) => join(d, f));
    expect(sha256OfFiles(files(a))).toBe(sha256OfFiles(files(b)));
    const json = JSON.parse(readFileSync(join(a, "adapter_config.json"), "utf8"));
    expect(json).toEqual(PYTHON_CONFIG_WITHOUT(["layer_replication"]));
    expect(Object.keys(json)).toEqual(Object.keys(json).sort());

    const loaded = loadAdapter(a, MODEL);
    expect(loaded.config).toEqual({ ...CFG, targetModules: ["q_proj", "v_proj"] });
    expect([...loaded.tensors.keys()]).toEqual([
      peftKey(0, "q_proj", "A"),
      peftKey(0, "q_proj", "B"),
      peftKey(0, "v_proj", "A"),
      peftKey(0, "v_proj", "B"),
      peftKey(1, "q_proj", "A"),
      peftKey(1, "q_proj", "B"),
      peftKey(1, "v_proj", "A"),
      peftKey(1, "v_proj", "B"),
    ]);
    for (const [k, v] of tensors) {
      expect(loaded.tensors.get(k)).toEqual(v);
      expect(loaded.shapes.get(k)).toEqual(shapes.get(k));
    }
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("writes float64 tensors as F64 and reads them back exactly with dtype F64 (F32 by default)", () => {
    const { tensors, shapes } = randomAdapter(CFG, "f64");
    // Values a float32 cannot hold, so a narrowing anywhere on the way shows.
    const wide = new Map([...tensors].map(([k, v]) => [k, Float64Array.from(v, (x) => x + 1e-12)]));
    const dir = freshDir();
    saveAdapter(dir, CFG, wide, shapes);
    const f = openSafetensors(join(dir, "adapter_model.safetensors"));
    expect(new Set([...f.tensors.values()].map((t) => t.dtype))).toEqual(new Set(["F64"]));
    f.close();
    const exact = loadAdapter(dir, MODEL, "F64");
    for (const [k, v] of wide) expect(exact.tensors.get(k)).toEqual(v);
    const narrow = loadAdapter(dir, MODEL);
    for (const [k, v] of wide) {
      expect(narrow.tensors.get(k)).toBeInstanceOf(Float32Array);
      expect(narrow.tensors.get(k)).toEqual(Float32Array.from(v));
    }
  });

  it.each([
    ["F16", (w: Float32Array) => f16ToF32(f32ToF16(w))],
    ["BF16", (w: Float32Array) => bf16ToF32(f32ToBf16(w))],
  ] as const)("loads Python-saved %s adapters with older '.default' keys", (dtype, round) => {
    const { tensors, shapes } = randomAdapter(CFG, dtype);
    const dir = freshDir();
    writePython(dir, { ...PYTHON_CONFIG, lora_bias: false, exclude_modules: null }, tensors, shapes, {
      dtype,
      rename: (k) => k.replace(/\.weight$/, ".default.weight"),
    });
    const loaded = loadAdapter(dir, MODEL);
    for (const [k, v] of tensors) expect(loaded.tensors.get(k)).toEqual(round(v));
  });

  it("accepts target_modules as a single-module string, 'all-linear' and 'self_attn.q_proj'", () => {
    const one = { ...CFG, targetModules: ["q_proj"] };
    const { tensors, shapes } = randomAdapter(one, "s");
    for (const tm of ["q_proj", ["self_attn.q_proj"]]) {
      const dir = freshDir();
      writePython(dir, { ...PYTHON_CONFIG, target_modules: tm }, tensors, shapes);
      expect(loadAdapter(dir, MODEL).config.targetModules).toEqual(["q_proj"]);
    }
    const all = { ...CFG, targetModules: Object.keys(LORA_MODULES) };
    const full = randomAdapter(all, "all");
    const dir = freshDir();
    writePython(dir, { ...PYTHON_CONFIG, target_modules: "all-linear" }, full.tensors, full.shapes);
    const loaded = loadAdapter(dir, MODEL);
    expect(loaded.tensors.size).toBe(2 * 7 * 2);
    expect(loaded.shapes.get(peftKey(1, "down_proj", "A"))).toEqual([4, 24]);
    expect(loaded.shapes.get(peftKey(1, "k_proj", "B"))).toEqual([8, 4]);
  });
});

function PYTHON_CONFIG_WITHOUT(keys: string[]) {
  return Object.fromEntries(Object.entries(PYTHON_CONFIG).filter(([k]) => !keys.includes(k)));
}

describe("bad adapters", () => {
  const { tensors, shapes } = randomAdapter(CFG, "bad");
  type Case = { name: string; make: (dir: string) => string; re: RegExp };
  const withConfig = (patch: Record<string, unknown>) => (d: string) => {
    writePython(d, { ...PYTHON_CONFIG, ...patch }, tensors, shapes);
    return join(d, "adapter_config.json");
  };
  const withTensors = (
    edit: (t: Map<string, Float32Array>, s: Map<string, number[]>) => void,
    config = PYTHON_CONFIG,
  ) => {
    return (d: string) => {
      const t = new Map(tensors);
      const s = new Map(shapes);
      edit(t, s);
      writePython(d, config, t, s);
      return join(d, "adapter_model.safetensors");
    };
  };
  const qA0 = peftKey(0, "q_proj", "A");
  const cases: Case[] = [
    { name: "missing directory", make: (d) => d, re: /no such file/ },
    {
      name: "missing adapter_config.json",
      make: (d) => {
        writePython(d, PYTHON_CONFIG, tensors, shapes);
        rmSync(join(d, "adapter_config.json"));
        return d;
      },
      re: /no adapter_config.json/,
    },
    {
      name: "missing adapter_model.safetensors",
      make: (d) => {
        writePython(d, PYTHON_CONFIG, tensors, shapes);
        rmSync(join(d, "adapter_model.safetensors"));
        return d;
      },
      re: /no adapter_model.safetensors/,
    },
    {
      name: "adapter_model.bin",
      make: (d) => {
        writePython(d, PYTHON_CONFIG, tensors, shapes);
        rmSync(join(d, "adapter_model.safetensors"));
        writeFileSync(join(d, "adapter_model.bin"), "pickle");
        return d;
      },
      re: /adapter_model.bin but only safetensors/,
    },
    {
      name: "config not JSON",
      make: (d) => {
        writePython(d, PYTHON_CONFIG, tensors, shapes);
        writeFileSync(join(d, "adapter_config.json"), "{");
        return join(d, "adapter_config.json");
      },
      re: /not valid JSON/,
    },
    { name: "IA3", make: withConfig({ peft_type: "IA3" }), re: /unsupported PEFT type "IA3"/ },
    { name: "missing peft_type", make: withConfig({ peft_type: undefined }), re: /missing "peft_type"/ },
    {
      name: "task_type",
      make: withConfig({ task_type: "SEQ_CLS" }),
      re: /task_type "SEQ_CLS" is unsupported/,
    },
    { name: "DoRA", make: withConfig({ use_dora: true }), re: /use_dora true is unsupported \(DoRA/ },
    {
      name: "fan_in_fan_out",
      make: withConfig({ fan_in_fan_out: true }),
      re: /fan_in_fan_out true is unsupported/,
    },
    { name: "bias all", make: withConfig({ bias: "all" }), re: /bias "all" is unsupported/ },
    {
      name: "layers_to_transform",
      make: withConfig({ layers_to_transform: [0] }),
      re: /layers_to_transform \[0\] is unsupported/,
    },
    {
      name: "rank_pattern",
      make: withConfig({ rank_pattern: { q_proj: 8 } }),
      re: /rank_pattern .* is unsupported/,
    },
    {
      name: "alpha_pattern",
      make: withConfig({ alpha_pattern: { q_proj: 8 } }),
      re: /alpha_pattern .* is unsupported/,
    },
    {
      name: "modules_to_save",
      make: withConfig({ modules_to_save: ["lm_head"] }),
      re: /modules_to_save .* is unsupported/,
    },
    { name: "zero rank", make: withConfig({ r: 0 }), re: /"r" must be a positive integer/ },
    {
      name: "dropout 1.5",
      make: withConfig({ lora_dropout: 1.5 }),
      re: /"lora_dropout" must be in \[0, 1\)/,
    },
    {
      name: "target lm_head",
      make: withConfig({ target_modules: ["q_proj", "lm_head"] }),
      re: /target_modules entry "lm_head" is unsupported/,
    },
    {
      name: "target regex",
      make: withConfig({ target_modules: ".*proj" }),
      re: /target_modules regex ".\*proj" is unsupported/,
    },
    { name: "empty targets", make: withConfig({ target_modules: [] }), re: /non-empty list/ },
    {
      name: "rank in file differs from r",
      make: (d) => {
        withConfig({ r: 8 })(d);
        return join(d, "adapter_model.safetensors");
      },
      re: /has rank 4 but adapter_config.json says r 8/,
    },
    {
      name: "A shape mismatch",
      make: withTensors((t, s) => {
        t.set(qA0, new Float32Array(4 * 12));
        s.set(qA0, [4, 12]);
      }),
      re: /has shape \[4,12\], expected \[4,16\] for this model/,
    },
    {
      name: "missing B for a layer",
      make: withTensors((t) => t.delete(peftKey(1, "v_proj", "B"))),
      re: /missing tensor "base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"/,
    },
    {
      name: "layer beyond the model",
      make: withTensors((t, s) => {
        t.set(peftKey(2, "q_proj", "A"), new Float32Array(64));
        s.set(peftKey(2, "q_proj", "A"), [4, 16]);
      }),
      re: /tensors for layer 2 but the model has 2 layers/,
    },
    {
      name: "unexpected tensor",
      make: withTensors((t, s) => {
        t.set("base_model.model.lm_head.weight", new Float32Array(4));
        s.set("base_model.model.lm_head.weight", [4]);
      }),
      re: /unexpected tensor "base_model.model.lm_head.weight"/,
    },
    {
      name: "module under the wrong parent",
      make: withTensors((t, s) => {
        t.set("base_model.model.model.layers.0.mlp.q_proj.lora_A.weight", new Float32Array(64));
        s.set("base_model.model.model.layers.0.mlp.q_proj.lora_A.weight", [4, 16]);
      }),
      re: /unexpected tensor/,
    },
    {
      name: "tensor for an untargeted module",
      make: withTensors((t, s) => {
        t.set(peftKey(0, "k_proj", "A"), new Float32Array(64));
        s.set(peftKey(0, "k_proj", "A"), [4, 16]);
      }),
      re: /tensors for k_proj, which target_modules .* does not list/,
    },
    {
      name: "duplicate with .default",
      make: withTensors((t, s) => {
        const k = qA0.replace(/\.weight$/, ".default.weight");
        t.set(k, tensors.get(qA0)!);
        s.set(k, [4, 16]);
      }),
      re: /appears twice/,
    },
    {
      name: "integer tensor",
      make: (d) => {
        writePython(d, PYTHON_CONFIG, tensors, shapes);
        const st: Record<string, StTensorInput> = {};
        for (const [k, v] of tensors) st[k] = { dtype: "F32", shape: shapes.get(k)!, data: v };
        st[qA0] = { dtype: "I32", shape: [4, 16], data: new Int32Array(64) };
        writeSafetensors(join(d, "adapter_model.safetensors"), st);
        return join(d, "adapter_model.safetensors");
      },
      re: /is I32, expected a floating-point dtype/,
    },
    {
      name: "corrupt safetensors",
      make: (d) => {
        writePython(d, PYTHON_CONFIG, tensors, shapes);
        writeFileSync(join(d, "adapter_model.safetensors"), "short");
        return join(d, "adapter_model.safetensors");
      },
      re: /shorter than the 8-byte/,
    },
  ];

  it.each(cases)("$name → UserError naming the file", ({ make, re }) => {
    const dir = freshDir();
    const file = make(dir);
    expectUserError(() => loadAdapter(dir, MODEL), file, re);
  });

  it("has at least 30 distinct bad-input cases", () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });
});
