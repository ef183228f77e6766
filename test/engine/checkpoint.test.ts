import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { llamaWeightNames } from "../../harness/engine/architecture.ts";
import {
  type LlamaConfig,
  loadLlamaCheckpoint,
  parseLlamaConfig,
  randomLlamaWeights,
  saveLlamaCheckpoint,
  sha256OfFiles,
} from "../../harness/engine/checkpoint.ts";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../harness/engine/dtype.ts";
import { TINYLLAMA_SHAPES } from "../../harness/engine/perf.ts";
import { openSafetensors, writeSafetensors } from "../../harness/engine/safetensors.ts";
import { expectUserError, makeTmp } from "./helpers-io.ts";

const tmp = makeTmp("ckpt");
afterAll(tmp.cleanup);
let dirNo = 0;
const freshDir = () => join(tmp.dir, `m${++dirNo}`);

/** TinyLlama-1.1B-Chat-v1.0's config.json. */
const TINYLLAMA = {
  architectures: ["LlamaForCausalLM"],
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: "silu",
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: "llama",
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: "bfloat16",
  transformers_version: "4.35.0",
  use_cache: true,
  vocab_size: 32000,
};

const TINY: LlamaConfig = parseLlamaConfig(
  {
    model_type: "llama",
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 32,
    max_position_embeddings: 64,
  },
  "tiny",
);

describe("parseLlamaConfig", () => {
  it("reads TinyLlama's config", () => {
    // TINYLLAMA_SHAPES (the architecture the ≈0.1% claim and `npm run perf` use) is exactly this config.
    expect(parseLlamaConfig(TINYLLAMA, "config.json")).toEqual({
      ...TINYLLAMA_SHAPES,
      torchDtype: "bfloat16",
    });
  });

  it("applies HF defaults", () => {
    const c = parseLlamaConfig(
      {
        model_type: "llama",
        hidden_size: 16,
        intermediate_size: 8,
        num_hidden_layers: 1,
        num_attention_heads: 2,
        vocab_size: 10,
      },
      "c",
    );
    expect(c).toMatchObject({
      headDim: 8,
      numKvHeads: 2,
      rmsNormEps: 1e-6,
      ropeTheta: 10000,
      tieWordEmbeddings: false,
    });
    const explicit = parseLlamaConfig({ ...TINYLLAMA, head_dim: 32, eos_token_id: [2, 7] }, "c");
    expect(explicit.headDim).toBe(32);
    expect(explicit.eosTokenId).toEqual([2, 7]);
  });

  it("TinyLlama-shaped names: 1 + 9 per layer + 2, with GQA shapes", () => {
    const names = llamaWeightNames(parseLlamaConfig(TINYLLAMA, "c"));
    expect(names.length).toBe(1 + 9 * 22 + 2);
    const byName = new Map(names.map((n) => [n.name, n.shape]));
    expect(byName.get("model.layers.0.self_attn.k_proj.weight")).toEqual([256, 2048]);
    expect(byName.get("model.layers.21.mlp.down_proj.weight")).toEqual([2048, 5632]);
    expect(byName.get("lm_head.weight")).toEqual([32000, 2048]);
    expect(
      llamaWeightNames({ ...TINY, tieWordEmbeddings: true }).some((n) => n.name === "lm_head.weight"),
    ).toBe(false);
  });
});

describe("save and load", () => {
  const weights = randomLlamaWeights(TINY, 1);

  it("round-trips F32 exactly and writes HF config fields", () => {
    const dir = freshDir();
    saveLlamaCheckpoint(dir, TINY, weights);
    expect(readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors"]);
    const cfg = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    expect(cfg).toMatchObject({
      architectures: ["LlamaForCausalLM"],
      model_type: "llama",
      hidden_act: "silu",
      torch_dtype: "float32",
      num_key_value_heads: 2,
      rope_scaling: null,
    });
    const ck = loadLlamaCheckpoint(dir);
    expect(ck.config).toEqual({ ...TINY, torchDtype: "float32" });
    expect(ck.sourceDtype).toBe("F32");
    expect(ck.files).toEqual([join(dir, "config.json"), join(dir, "model.safetensors")]);
    for (const { name, shape } of llamaWeightNames(TINY)) {
      expect(ck.weights.get(name), name).toEqual(weights.get(name));
      expect(ck.shapes.get(name)).toEqual(shape);
    }
  });

  it.each([
    ["F16", (w: Float32Array) => f16ToF32(f32ToF16(w))],
    ["BF16", (w: Float32Array) => bf16ToF32(f32ToBf16(w))],
  ] as const)("round-trips %s as the rounded values", (dtype, round) => {
    const dir = freshDir();
    saveLlamaCheckpoint(dir, TINY, weights, { dtype });
    const ck = loadLlamaCheckpoint(dir);
    expect(ck.sourceDtype).toBe(dtype);
    expect(ck.config.torchDtype).toBe(dtype === "F16" ? "float16" : "bfloat16");
    for (const { name } of llamaWeightNames(TINY))
      expect(ck.weights.get(name)).toEqual(round(weights.get(name)!));
  });

  it("sharded and single checkpoints load identically", () => {
    const single = freshDir();
    const sharded = freshDir();
    saveLlamaCheckpoint(single, TINY, weights, { dtype: "BF16" });
    saveLlamaCheckpoint(sharded, TINY, weights, { dtype: "BF16", shardBytes: 1500 });
    const files = readdirSync(sharded).sort();
    const shards = files.filter((f) => f.endsWith(".safetensors"));
    expect(shards.length).toBeGreaterThan(2);
    expect(shards[0]).toBe(`model-00001-of-${String(shards.length).padStart(5, "0")}.safetensors`);
    const index = JSON.parse(readFileSync(join(sharded, "model.safetensors.index.json"), "utf8"));
    const total = llamaWeightNames(TINY).reduce((s, n) => s + n.shape.reduce((a, b) => a * b, 1) * 2, 0);
    expect(index.metadata.total_size).toBe(total);
    expect(Object.keys(index.weight_map).length).toBe(llamaWeightNames(TINY).length);
    const a = loadLlamaCheckpoint(single);
    const b = loadLlamaCheckpoint(sharded);
    expect(b.files.length).toBe(2 + shards.length);
    expect([...b.weights.keys()].sort()).toEqual([...a.weights.keys()].sort());
    for (const [k, v] of a.weights) expect(b.weights.get(k)).toEqual(v);
  });

  it("tied embeddings: lm_head is absent in the file and aliases embed_tokens when loaded", () => {
    const tied = { ...TINY, tieWordEmbeddings: true };
    const dir = freshDir();
    saveLlamaCheckpoint(dir, tied, randomLlamaWeights(tied, 2));
    const f = openSafetensors(join(dir, "model.safetensors"));
    expect(f.tensors.has("lm_head.weight")).toBe(false);
    f.close();
    const ck = loadLlamaCheckpoint(dir);
    expect(ck.weights.get("lm_head.weight")).toBe(ck.weights.get("model.embed_tokens.weight"));
  });

  it("ignores extra tensors such as rotary_emb.inv_freq", () => {
    const dir = freshDir();
    saveLlamaCheckpoint(dir, TINY, weights);
    const f = openSafetensors(join(dir, "model.safetensors"));
    const all: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
    for (const [name, t] of f.tensors) all[name] = { dtype: "F32", shape: t.shape, data: f.readF32(name) };
    f.close();
    all["model.layers.0.self_attn.rotary_emb.inv_freq"] = {
      dtype: "F32",
      shape: [2],
      data: new Float32Array(2),
    };
    writeSafetensors(join(dir, "model.safetensors"), all);
    expect(loadLlamaCheckpoint(dir).weights.has("model.layers.0.self_attn.rotary_emb.inv_freq")).toBe(false);
  });

  it("writes deterministic bytes, replaces an existing directory and leaves no temp files", () => {
    const a = freshDir();
    const b = freshDir();
    mkdirSync(b);
    writeFileSync(join(b, "stale.txt"), "old");
    saveLlamaCheckpoint(a, TINY, weights, { shardBytes: 2000 });
    saveLlamaCheckpoint(b, TINY, weights, { shardBytes: 2000, extraFiles: { "tokenizer.json": "{}" } });
    const files = (d: string) =>
      readdirSync(d)
        .filter((f) => f !== "tokenizer.json")
        .sort();
    expect(files(b)).toEqual(files(a));
    expect(readdirSync(b)).toContain("tokenizer.json");
    expect(sha256OfFiles(files(a).map((f) => join(a, f)))).toBe(
      sha256OfFiles(files(b).map((f) => join(b, f))),
    );
    expect(readdirSync(tmp.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("randomLlamaWeights is seeded and norms are near but not exactly one", () => {
    const again = randomLlamaWeights(TINY, 1);
    const other = randomLlamaWeights(TINY, 2);
    expect(again.get("model.layers.1.mlp.up_proj.weight")).toEqual(
      weights.get("model.layers.1.mlp.up_proj.weight"),
    );
    expect(other.get("model.layers.1.mlp.up_proj.weight")).not.toEqual(
      weights.get("model.layers.1.mlp.up_proj.weight"),
    );
    const norm = weights.get("model.norm.weight")!;
    expect(norm.every((x) => Math.abs(x - 1) < 0.2)).toBe(true);
    expect(norm.some((x) => x !== 1)).toBe(true);
  });

  it("sha256OfFiles: one file is its plain sha256, several are order-sensitive", () => {
    const p = join(tmp.dir, "h1.txt");
    const q = join(tmp.dir, "h2.txt");
    writeFileSync(p, "hello");
    writeFileSync(q, "world");
    expect(sha256OfFiles([p])).toBe(createHash("sha256").update("hello").digest("hex"));
    expect(sha256OfFiles([p, q])).not.toBe(sha256OfFiles([q, p]));
    expectUserError(() => sha256OfFiles([join(tmp.dir, "none")]), "none", /no such file/);
  });
});

describe("bad inputs", () => {
  const base = {
    model_type: "llama",
    hidden_size: 16,
    intermediate_size: 24,
    num_hidden_layers: 2,
    num_attention_heads: 4,
    num_key_value_heads: 2,
    vocab_size: 32,
  };
  const badConfigs: { name: string; json: unknown; re: RegExp }[] = [
    {
      name: "qwen2 model_type",
      json: { ...base, model_type: "qwen2" },
      re: /unsupported architecture "qwen2" \(model_type\); lora-bench supports llama, gemma/,
    },
    { name: "missing model_type", json: { ...base, model_type: undefined }, re: /missing "model_type"/ },
    {
      name: "other architectures",
      json: { ...base, architectures: ["MistralForCausalLM"] },
      re: /MistralForCausalLM/,
    },
    { name: "missing hidden_size", json: { ...base, hidden_size: undefined }, re: /missing "hidden_size"/ },
    {
      name: "string hidden_size",
      json: { ...base, hidden_size: "16" },
      re: /"hidden_size" must be a positive integer/,
    },
    { name: "zero vocab", json: { ...base, vocab_size: 0 }, re: /"vocab_size" must be a positive integer/ },
    { name: "fractional layers", json: { ...base, num_hidden_layers: 1.5 }, re: /"num_hidden_layers"/ },
    {
      name: "heads not dividing hidden",
      json: { ...base, hidden_size: 18 },
      re: /not divisible by num_attention_heads 4/,
    },
    {
      name: "kv heads not dividing heads",
      json: { ...base, num_key_value_heads: 3 },
      re: /not divisible by num_key_value_heads 3/,
    },
    {
      name: "rope_scaling",
      json: { ...base, rope_scaling: { type: "dynamic", factor: 2 } },
      re: /rope_type "dynamic" \(rope_scaling\) is unsupported; lora-bench implements default, linear, llama3/,
    },
    { name: "gelu", json: { ...base, hidden_act: "gelu" }, re: /hidden_act "gelu" is unsupported/ },
    {
      name: "attention_bias",
      json: { ...base, attention_bias: true },
      re: /attention_bias true is unsupported/,
    },
    { name: "tie not boolean", json: { ...base, tie_word_embeddings: "yes" }, re: /tie_word_embeddings/ },
    {
      name: "negative eps",
      json: { ...base, rms_norm_eps: -1 },
      re: /"rms_norm_eps" must be a positive number/,
    },
    { name: "config is an array", json: [base], re: /not a JSON object/ },
  ];
  it.each(badConfigs)("config: $name", ({ json, re }) => {
    expectUserError(() => parseLlamaConfig(json, "/x/config.json"), "/x/config.json", re);
  });

  const weights = randomLlamaWeights(TINY, 3);
  /** A saved checkpoint, then `edit` breaks it; returns [dir, the file the error must name]. */
  type Case = { name: string; make: (dir: string, shards: string[]) => string; re: RegExp };
  const mutateModel = (
    dir: string,
    fn: (t: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }>) => void,
  ) => {
    const p = join(dir, "model.safetensors");
    const f = openSafetensors(p);
    const all: Record<string, { dtype: "F32"; shape: number[]; data: Float32Array }> = {};
    for (const [name, t] of f.tensors) all[name] = { dtype: "F32", shape: t.shape, data: f.readF32(name) };
    f.close();
    fn(all);
    writeSafetensors(p, all);
    return p;
  };
  const index = (dir: string) => join(dir, "model.safetensors.index.json");
  const editIndex = (dir: string, fn: (ix: any) => void) => {
    const ix = JSON.parse(readFileSync(index(dir), "utf8"));
    fn(ix);
    writeFileSync(index(dir), JSON.stringify(ix));
    return index(dir);
  };
  const badDirs: Case[] = [
    {
      name: "missing directory",
      make: (d) => {
        rmSync(d, { recursive: true });
        return d;
      },
      re: /no such file/,
    },
    {
      name: "path is a file",
      make: (d) => {
        rmSync(d, { recursive: true });
        writeFileSync(d, "x");
        return d;
      },
      re: /not a directory/,
    },
    {
      name: "missing config.json",
      make: (d) => {
        rmSync(join(d, "config.json"));
        return d;
      },
      re: /no config.json/,
    },
    {
      name: "config.json not JSON",
      make: (d) => {
        writeFileSync(join(d, "config.json"), "{oops");
        return join(d, "config.json");
      },
      re: /not valid JSON/,
    },
    {
      name: "config.json unsupported",
      make: (d) => {
        writeFileSync(join(d, "config.json"), JSON.stringify({ ...base, model_type: "qwen2" }));
        return join(d, "config.json");
      },
      re: /unsupported architecture "qwen2"/,
    },
    {
      name: "no weights",
      make: (d) => {
        rmSync(join(d, "model.safetensors"));
        return d;
      },
      re: /no model.safetensors or/,
    },
    {
      name: "pytorch_model.bin only",
      make: (d) => {
        rmSync(join(d, "model.safetensors"));
        writeFileSync(join(d, "pytorch_model.bin"), "x");
        return d;
      },
      re: /only safetensors is supported/,
    },
    {
      name: "missing tensor",
      make: (d) => mutateModel(d, (t) => delete t["model.layers.1.mlp.up_proj.weight"]),
      re: /missing tensor "model.layers.1.mlp.up_proj.weight"/,
    },
    {
      name: "shape mismatch",
      make: (d) =>
        mutateModel(d, (t) => {
          t["model.layers.0.self_attn.k_proj.weight"].shape = [16, 8];
        }),
      re: /"model.layers.0.self_attn.k_proj.weight" has shape \[16,8\], expected \[8,16\]/,
    },
    {
      name: "untied without lm_head",
      make: (d) => mutateModel(d, (t) => delete t["lm_head.weight"]),
      re: /missing tensor "lm_head.weight" \(config.json has tie_word_embeddings false\)/,
    },
    {
      name: "weights for an extra layer",
      make: (d) =>
        mutateModel(d, (t) => {
          t["model.layers.2.input_layernorm.weight"] = {
            dtype: "F32",
            shape: [16],
            data: new Float32Array(16),
          };
        }),
      re: /weights for layer 2 but config.json says num_hidden_layers 2/,
    },
    {
      name: "corrupt model file",
      make: (d) => {
        writeFileSync(join(d, "model.safetensors"), new Uint8Array(4));
        return join(d, "model.safetensors");
      },
      re: /shorter than the 8-byte/,
    },
  ];
  const badShards: Case[] = [
    {
      name: "index without weight_map",
      make: (d) => editIndex(d, (ix) => delete ix.weight_map),
      re: /no "weight_map"/,
    },
    {
      name: "index not JSON",
      make: (d) => {
        writeFileSync(index(d), "[[[");
        return index(d);
      },
      re: /not valid JSON/,
    },
    {
      name: "missing shard",
      make: (d, shards) => {
        rmSync(join(d, shards[1]));
        return index(d);
      },
      re: /shard model-00002-of-0000\d.safetensors named in the index is missing/,
    },
    {
      name: "tensor not in its shard",
      make: (d, shards) =>
        editIndex(d, (ix) => {
          ix.weight_map["model.norm.weight"] = shards[0];
        }),
      re: /"model.norm.weight" named in the index is not in model-00001-of-0000\d.safetensors/,
    },
    {
      name: "shard path escapes the directory",
      make: (d) =>
        editIndex(d, (ix) => {
          ix.weight_map["model.norm.weight"] = "../elsewhere.safetensors";
        }),
      re: /not a shard file name/,
    },
    {
      name: "tensor missing from the index",
      make: (d) => editIndex(d, (ix) => delete ix.weight_map["model.layers.0.mlp.gate_proj.weight"]),
      re: /missing tensor "model.layers.0.mlp.gate_proj.weight"/,
    },
  ];

  it.each(badDirs)("checkpoint: $name", ({ make, re }) => {
    const dir = freshDir();
    saveLlamaCheckpoint(dir, TINY, weights);
    const file = make(dir, []);
    expectUserError(() => loadLlamaCheckpoint(dir), file, re);
  });

  it.each(badShards)("sharded checkpoint: $name", ({ make, re }) => {
    const dir = freshDir();
    const total = llamaWeightNames(TINY).reduce((s, n) => s + n.shape.reduce((a, b) => a * b, 1) * 4, 0);
    saveLlamaCheckpoint(dir, TINY, weights, { shardBytes: Math.ceil(total / 3) + 64 });
    const shards = readdirSync(dir)
      .filter((f) => f.startsWith("model-"))
      .sort();
    expect(shards.length).toBeGreaterThanOrEqual(3);
    const file = make(dir, shards);
    expectUserError(() => loadLlamaCheckpoint(dir), file, re);
  });

  it("has at least 30 distinct bad-input cases", () => {
    expect(badConfigs.length + badDirs.length + badShards.length).toBeGreaterThanOrEqual(30);
  });
});
