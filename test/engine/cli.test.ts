import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadAdapter, saveAdapter } from "../../harness/engine/adapter-io.ts";
import { loraShapes } from "../../harness/engine/architecture.ts";
import {
  loadLlamaCheckpoint,
  randomLlamaWeights,
  saveLlamaCheckpoint,
} from "../../harness/engine/checkpoint.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import { rngStream } from "../../harness/rng.ts";
import { cli, tempDir, tinyTokenizerFiles } from "../cli-helpers.ts";
import { tinyConfig } from "./tiny.ts";

const c = tinyConfig({ vocabSize: 2048, hiddenSize: 32, headDim: 8, intermediateSize: 48 });
let dir: string;
let modelDir: string;
let adapterDir: string;
const settings = { r: 4, alpha: 8, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false };

beforeAll(() => {
  dir = tempDir();
  modelDir = join(dir, "model");
  const extraFiles = tinyTokenizerFiles();
  saveLlamaCheckpoint(modelDir, c, randomLlamaWeights(c, "cli", 0.2), { dtype: "BF16", extraFiles });
  // An adapter with non-zero B so gradients reach A too.
  adapterDir = join(dir, "adapter");
  const rng = rngStream(1, "cli-adapter");
  const shapes = new Map(loraShapes(c, settings).map((s) => [s.key, s.shape]));
  const tensors = new Map(
    [...shapes].map(([k, s]) => [k, Float32Array.from({ length: s[0] * s[1] }, () => 0.1 * rng.normal())]),
  );
  saveAdapter(adapterDir, { ...settings, bias: "none", fanInFanOut: false }, tensors, shapes);
});

describe("command-line contract", () => {
  it("logits prints {logits: number[][]} — one full-vocabulary row per position, equal to the library's", async () => {
    const r = cli([
      "logits",
      "--model",
      modelDir,
      "--adapter",
      adapterDir,
      "--ids",
      "1,5,9",
      "--threads",
      "1",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(Object.keys(out)).toEqual(["logits"]);
    expect(out.logits).toHaveLength(3);
    expect(out.logits[0]).toHaveLength(2048);
    const ck = loadLlamaCheckpoint(modelDir);
    const a = loadAdapter(adapterDir, ck.config);
    const model = new LlamaModel(ck.config, ck.weights);
    const { loraGraphSpec } = await import("../../harness/engine/lora.ts");
    const [want] = await model.logits([[1, 5, 9]], { spec: loraGraphSpec(a.config), tensors: a.tensors });
    expect(out.logits[2][17]).toBeCloseTo(want[2][17], 5);
    await model.release();
  });

  it("loss-grad prints the loss and a gradient shaped like each LoRA tensor", () => {
    const r = cli([
      "loss-grad",
      "--model",
      modelDir,
      "--adapter",
      adapterDir,
      "--ids",
      "1,5,9,11,12",
      "--labels",
      "-100,-100,9,11,12",
    ]);
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout);
    expect(typeof out.loss).toBe("number");
    expect(out.loss).toBeGreaterThan(0);
    const keys = Object.keys(out.grads);
    expect(keys).toHaveLength(2 * 2 * 2);
    const qa = out.grads["base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"];
    expect(qa).toHaveLength(4);
    expect(qa[0]).toHaveLength(32);
    const vb = out.grads["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"];
    expect(vb).toHaveLength(2 * 8);
    expect(vb[0]).toHaveLength(4);
  });

  it("train writes a PEFT adapter that loads back, byte-identical for the same seed", () => {
    const data = join(dir, "train.jsonl");
    writeFileSync(
      data,
      ["The council said", "Police in Leeds", "A crowd of"]
        .map((p, i) => JSON.stringify({ prompt: `${p} `, completion: `item ${i} was reported on Monday.` }))
        .join("\n"),
    );
    const args = (out: string) => [
      "train",
      "--model",
      modelDir,
      "--data",
      data,
      "--rank",
      "4",
      "--alpha",
      "8",
      "--targets",
      "q_proj,v_proj",
      "--epochs",
      "2",
      "--lr",
      "1e-3",
      "--seed",
      "7",
      "--batch-size",
      "2",
      "--out",
      out,
    ];
    const a = cli(args(join(dir, "ad1")));
    expect(a.code, a.stderr).toBe(0);
    const b = cli(args(join(dir, "ad2")));
    expect(b.code).toBe(0);
    expect(readdirSync(join(dir, "ad1")).sort()).toEqual([
      "adapter_config.json",
      "adapter_model.safetensors",
    ]);
    for (const f of ["adapter_config.json", "adapter_model.safetensors"])
      expect(readFileSync(join(dir, "ad1", f)).equals(readFileSync(join(dir, "ad2", f)))).toBe(true);
    const cfg = JSON.parse(readFileSync(join(dir, "ad1", "adapter_config.json"), "utf8"));
    expect(cfg).toMatchObject({
      peft_type: "LORA",
      r: 4,
      lora_alpha: 8,
      target_modules: ["q_proj", "v_proj"],
    });
  });

  it("generate prints text", () => {
    const r = cli([
      "generate",
      "--model",
      modelDir,
      "--prompt",
      "The council said",
      "--max-new-tokens",
      "5",
      "--json",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.tokens.length).toBeGreaterThan(0);
    expect(out.tokens.length).toBeLessThanOrEqual(5);
    expect(typeof out.completion).toBe("string");
  });

  const bad: [string, () => string[], RegExp][] = [
    ["missing model dir", () => ["logits", "--model", join(dir, "nope"), "--ids", "1"], /nope/],
    [
      "id outside the vocabulary",
      () => ["logits", "--model", modelDir, "--ids", "1,99999"],
      /99999.*vocabulary/,
    ],
    ["non-integer id", () => ["logits", "--model", modelDir, "--ids", "1,x"], /--ids: "x" is not an integer/],
    [
      "labels of another length",
      () => ["loss-grad", "--model", modelDir, "--adapter", adapterDir, "--ids", "1,2,3", "--labels", "1,2"],
      /must match/,
    ],
    ["unknown flag", () => ["logits", "--model", modelDir, "--ids", "1", "--bogus"], /bogus/],
    ["unknown command", () => ["frobnicate"], /unknown command "frobnicate"/],
    [
      "a thread count that is not one",
      () => ["logits", "--model", modelDir, "--ids", "1", "--threads", "0"],
      /--threads: "0"/,
    ],
    [
      "missing cuda provider",
      () => ["logits", "--model", modelDir, "--ids", "1", "--device", "cuda"],
      /CUDA provider/,
    ],
    [
      "train data not JSON",
      () => {
        const f = join(dir, "bad.jsonl");
        writeFileSync(f, '{"prompt": "a", "completion": "b"}\n{oops\n');
        return ["train", "--model", modelDir, "--data", f, "--out", join(dir, "never")];
      },
      /bad\.jsonl: line 2: not valid JSON/,
    ],
  ];
  for (const [label, args, re] of bad) {
    it(`rejects ${label} with one line on stderr and exit 2`, () => {
      const r = cli(args());
      expect(r.code).toBe(2);
      expect(r.stdout).toBe("");
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    });
  }

  it("unsupported architecture names it", () => {
    const g = join(dir, "qwen2");
    saveLlamaCheckpoint(g, c, randomLlamaWeights(c, "g"), {});
    const cfg = JSON.parse(readFileSync(join(g, "config.json"), "utf8"));
    writeFileSync(
      join(g, "config.json"),
      JSON.stringify({ ...cfg, model_type: "qwen2", architectures: ["Qwen2ForCausalLM"] }),
    );
    const r = cli(["logits", "--model", g, "--ids", "1"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/qwen2/);
    expect(r.stderr).toMatch(/config\.json/);
  });
});
