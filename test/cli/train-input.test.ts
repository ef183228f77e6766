/**
 * `train`'s bad input: an --init-adapter that does not fit the model or contradicts the flags, token-id
 * records that are malformed, and optimizer flags out of range or stated twice. Each is one line on
 * stderr naming the flag or file (and line), exit 2, and no --out directory.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { saveAdapter } from "../../harness/engine/adapter-io.ts";
import { loraShapes } from "../../harness/engine/architecture.ts";
import { parseLlamaConfig } from "../../harness/engine/checkpoint.ts";
import { cli, ROOT } from "../cli-helpers.ts";
import { makeTmp } from "../engine/helpers-io.ts";

const TRACE = join(ROOT, "fixtures", "reference", "trace");
const BASE = join(TRACE, "base");
const INIT = join(TRACE, "adapter-init");
const RECORDS = join(TRACE, "records.jsonl");
const tmp = makeTmp("train-input");
afterAll(tmp.cleanup);

const record = (ids: unknown, labels: unknown) => JSON.stringify({ input_ids: ids, labels });
const GOOD = record([5, 6, 7, 8], [-100, -100, 7, 8]);

/** A JSONL file in the temp dir; returns its path. */
function jsonl(name: string, lines: string[]): string {
  const p = join(tmp.dir, name);
  writeFileSync(p, `${lines.join("\n")}\n`);
  return p;
}

/** An r=4 q_proj+v_proj adapter for the trace base widened to hidden 64: A is [4, 64], not [4, 32]. */
function wideAdapter(): string {
  const config = parseLlamaConfig(JSON.parse(readFileSync(join(BASE, "config.json"), "utf8")), "config.json");
  const settings = { r: 4, alpha: 8, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false };
  const shapes = new Map(
    loraShapes({ ...config, hiddenSize: 64 }, settings).map(({ key, shape }) => [key, shape]),
  );
  const tensors = new Map([...shapes].map(([k, s]) => [k, new Float32Array(s[0] * s[1]).fill(0.01)]));
  const dir = join(tmp.dir, "wide-adapter");
  saveAdapter(dir, { ...settings, bias: "none", fanInFanOut: false }, tensors, shapes);
  return dir;
}

const cases: [string, () => string[], RegExp][] = [
  [
    "--init-adapter of another rank than --rank",
    () => ["--init-adapter", INIT, "--rank", "8"],
    /--init-adapter .*adapter-init: rank 4 but --rank 8$/,
  ],
  [
    "--init-adapter of another alpha",
    () => ["--init-adapter", INIT, "--alpha", "16"],
    /lora_alpha 8 but --alpha 16$/,
  ],
  [
    "--init-adapter of other targets",
    () => ["--init-adapter", INIT, "--targets", "q_proj,k_proj,v_proj"],
    /target modules q_proj,v_proj but --targets k_proj,q_proj,v_proj$/,
  ],
  [
    "--init-adapter without rsLoRA but --rslora",
    () => ["--init-adapter", INIT, "--rslora"],
    /use_rslora false but --rslora$/,
  ],
  [
    "--init-adapter whose tensors do not fit the model",
    () => ["--init-adapter", wideAdapter()],
    /^lora-bench: --init-adapter: .*adapter_model\.safetensors: tensor ".*layers\.0\.self_attn\.q_proj\.lora_A\.weight" has shape \[4,64\], expected \[4,32\]/,
  ],
  [
    "--init-adapter that does not exist",
    () => ["--init-adapter", join(tmp.dir, "nope")],
    /--init-adapter: .*nope: no such file/,
  ],
  [
    "records of both kinds",
    () => ["--data", jsonl("mixed.jsonl", [GOOD, '{"prompt": "a", "completion": "b"}'])],
    /mixed\.jsonl: line 2: a prompt\/completion record, but line 1 is a token-id record/,
  ],
  [
    "labels of another length",
    () => ["--data", jsonl("len.jsonl", [GOOD, "", record([1, 2, 3], [-100, 2])])],
    /len\.jsonl: line 3: "labels" has 2 entries but "input_ids" has 3$/,
  ],
  [
    "a non-integer token id",
    () => ["--data", jsonl("frac.jsonl", [record([1, 2.5, 3], [-100, 2, 3])])],
    /frac\.jsonl: line 1: input_ids\[1\] is 2\.5, not a token id/,
  ],
  [
    "a token id given as a string",
    () => ["--data", jsonl("str.jsonl", [GOOD, record([1, 2, 3], [-100, "2", 3])])],
    /str\.jsonl: line 2: labels\[1\] is "2", not a token id or -100/,
  ],
  [
    "a negative label other than -100",
    () => ["--data", jsonl("neg.jsonl", [record([1, 2, 3], [-1, 2, 3])])],
    /neg\.jsonl: line 1: labels\[0\] is -1, not a token id or -100/,
  ],
  [
    "a token id outside the vocabulary",
    () => ["--data", jsonl("vocab.jsonl", [GOOD, GOOD, record([1, 128, 3], [-100, 128, 3])])],
    /vocab\.jsonl: line 3: input_ids\[1\] is 128, outside the model's vocabulary \[0, 128\)$/,
  ],
  [
    "a record with another key",
    () => [
      "--data",
      jsonl("mask.jsonl", [JSON.stringify({ input_ids: [1, 2], labels: [1, 2], attention_mask: [1, 1] })]),
    ],
    /mask\.jsonl: line 1: unexpected key "attention_mask"/,
  ],
  [
    "records with nothing to learn",
    () => ["--data", jsonl("nolabel.jsonl", [record([1, 2, 3], [1, -100, -100])])],
    /nolabel\.jsonl: no record has a label other than -100/,
  ],
  [
    "--max-length with token ids",
    () => ["--max-length", "8"],
    /--max-length: .*records\.jsonl holds token ids/,
  ],
  [
    "--max-steps with --epochs",
    () => ["--max-steps", "2", "--epochs", "1"],
    /--max-steps and --epochs: give one of them$/,
  ],
  [
    "--warmup-steps with --warmup-ratio",
    () => ["--warmup-steps", "1", "--warmup-ratio", "0.1"],
    /--warmup-steps and --warmup-ratio/,
  ],
  ["--max-steps 0", () => ["--max-steps", "0"], /--max-steps: "0" must be a positive integer$/],
  ["--adam-beta2 1", () => ["--adam-beta2", "1"], /--adam-beta2: "1" must be in \[0, 1\)$/],
  ["--adam-eps 0", () => ["--adam-eps", "0"], /--adam-eps: "0" must be > 0$/],
  ["a negative --lr", () => ["--lr", "-0.1"], /--lr: "-0.1" must be ≥ 0$/],
  [
    "--max-grad-norm not a number",
    () => ["--max-grad-norm", "big"],
    /--max-grad-norm: "big" is not a number$/,
  ],
  ["--warmup-steps 1.5", () => ["--warmup-steps", "1.5"], /--warmup-steps: "1.5" must be an integer ≥ 0$/],
  ["--float64 with --quant", () => ["--float64", "--quant", "nf4"], /--float64 and --quant/],
  [
    "--float64 off the cpu",
    () => ["--float64", "--device", "webgpu"],
    /--float64: float64 graphs run on the cpu device only$/,
  ],
];

describe("train refuses bad input with one line, exit 2 and nothing written", () => {
  it.each(cases)("%s", (_, extra, re) => {
    const args = extra();
    const out = join(tmp.dir, "out");
    const defaults = args.includes("--data") ? [] : ["--data", RECORDS];
    const r = cli(["train", "--model", BASE, ...defaults, "--out", out, ...args]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe("");
    const lines = r.stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(re);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(tmp.dir).filter((f) => f.startsWith("out") || f.startsWith(".out"))).toEqual([]);
  });
});
