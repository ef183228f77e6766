import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import {
  loadLlamaCheckpoint,
  randomLlamaWeights,
  saveLlamaCheckpoint,
} from "../../harness/engine/checkpoint.ts";
import { LlamaModel } from "../../harness/engine/model.ts";
import { resolveQuant } from "../../harness/engine/quant/spec.ts";
import { cli, tempDir, tinyTokenizerFiles } from "../cli-helpers.ts";
import { tinyConfig } from "../engine/tiny.ts";

// Rows of 64 and 128 in-features: NF4's block of 64 and int4's of 32 divide every decoder linear.
const c = tinyConfig({ vocabSize: 2048, hiddenSize: 64, headDim: 16, intermediateSize: 128 });
let dir: string;
let modelDir: string;
let oddDir: string;

beforeAll(() => {
  dir = tempDir();
  modelDir = join(dir, "model");
  const extraFiles = tinyTokenizerFiles();
  saveLlamaCheckpoint(modelDir, c, randomLlamaWeights(c, "cli-quant", 0.2), { extraFiles });
  // A model whose MLP rows (96) NF4's default block of 64 does not divide.
  oddDir = join(dir, "odd");
  const odd = { ...c, intermediateSize: 96 };
  saveLlamaCheckpoint(oddDir, odd, randomLlamaWeights(odd, "cli-odd", 0.2), { extraFiles });
});

const logits = (extra: string[]) =>
  cli(["logits", "--model", modelDir, "--ids", "1,5,9", "--threads", "1", ...extra]);

describe("--quant on the engine's commands", () => {
  it("logits --quant nf4|int4 equal the library's quantized model and differ from the float model", async () => {
    const plain = logits([]);
    expect(plain.code, plain.stderr).toBe(0);
    for (const type of ["nf4", "int4"]) {
      const r = logits(["--quant", type]);
      expect(r.stderr).toBe("");
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout).logits as number[][];
      const ck = loadLlamaCheckpoint(modelDir);
      const model = new LlamaModel(ck.config, ck.weights, {
        quant: resolveQuant({ type }, "test"),
        threads: 1,
      });
      const [want] = await model.logits([[1, 5, 9]]);
      await model.release();
      expect(out[2][17]).toBeCloseTo(want[2][17], 5);
      const diff = Math.max(...out[2].map((v, i) => Math.abs(v - JSON.parse(plain.stdout).logits[2][i])));
      expect(diff).toBeGreaterThan(1e-4);
    }
  });

  it("train --quant nf4 writes a PEFT adapter whose config matches the float run's", () => {
    const data = join(dir, "train.jsonl");
    writeFileSync(
      data,
      `${['{"prompt": "a b", "completion": " c d"}', '{"prompt": "e", "completion": " f g"}'].join("\n")}\n`,
    );
    const outs = ["float", "nf4"].map((kind) => {
      const out = join(dir, `adapter-${kind}`);
      const args = [
        "train",
        "--model",
        modelDir,
        "--data",
        data,
        "--out",
        out,
        "--epochs",
        "1",
        "--rank",
        "2",
      ];
      const r = cli([...args, "--threads", "1", ...(kind === "nf4" ? ["--quant", "nf4"] : [])]);
      expect(r.code, r.stderr).toBe(0);
      return out;
    });
    const [a, b] = outs.map((o) => JSON.parse(readFileSync(join(o, "adapter_config.json"), "utf8")));
    expect(b).toEqual(a);
  });

  const bad: [string, string[], RegExp][] = [
    [
      "an unknown type",
      ["--quant", "int8"],
      /^lora-bench: --quant: unknown quantization type "int8" \(one of nf4, int4\)$/,
    ],
    [
      "a block that does not divide a row",
      ["--quant", "nf4", "--odd"],
      /--quant: nf4 block size 64 does not divide a row of model\.layers\.0\.mlp\.down_proj\.weight \(96 in-features\)/,
    ],
    ["a device without the provider", ["--quant", "int4", "--device", "cuda"], /CUDA provider/],
  ];
  for (const [label, flags, re] of bad) {
    for (const command of ["logits", "loss-grad", "generate", "train"]) {
      it(`${command} refuses ${label} with one line and exit 2, writing nothing`, () => {
        const model = flags.includes("--odd") ? oddDir : modelDir;
        const out = join(dir, `never-${command}`);
        const rest: Record<string, string[]> = {
          logits: ["--ids", "1,2"],
          "loss-grad": ["--ids", "1,2", "--labels", "1,2", "--adapter", out],
          generate: ["--prompt", "hi"],
          train: ["--data", join(dir, "missing.jsonl"), "--out", out],
        };
        const r = cli([command, "--model", model, ...rest[command], ...flags.filter((f) => f !== "--odd")]);
        expect(r.code).toBe(2);
        expect(r.stdout).toBe("");
        expect(r.stderr.trim().split("\n")).toHaveLength(1);
        expect(r.stderr.trim()).toMatch(re);
      });
    }
  }
});
