/**
 * The bad-input case table, shared by test/reliability/cli-cases.test.ts and `npm run reliability`.
 * Each case builds its broken file in its own temp directory, names the real `lora-bench` command
 * that reads it, the file the error must name and the problem it must state. checkOutcome says what
 * a clear error is: exit 2, one line on stderr naming file and problem, no stack, no file written.
 *
 * No vitest import here: the reliability runner (tsx) loads this file too.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { readParquet, writeParquet } from "../../harness/data/parquet.ts";
import type { NewsRecord } from "../../harness/data/records.ts";
import { saveAdapter } from "../../harness/engine/adapter-io.ts";
import { loraShapes } from "../../harness/engine/architecture.ts";
import {
  type LlamaConfig,
  randomLlamaWeights,
  saveLlamaCheckpoint,
} from "../../harness/engine/checkpoint.ts";
import { openSafetensors, type StTensorInput, writeSafetensors } from "../../harness/engine/safetensors.ts";
import { serializeReport } from "../../harness/report/write.ts";
import { rngStream } from "../../harness/rng.ts";
import { ROOT } from "../cli-helpers.ts";
import { makeArm, makeReport } from "../report/fixture.ts";

export const BIN = join(ROOT, "bin", "lora-bench.js");

/** A small Llama (vocabulary of the project's tokenizer, GQA) used by every model case. */
export const CASE_MODEL: LlamaConfig = {
  modelType: "llama",
  hiddenSize: 32,
  intermediateSize: 48,
  numLayers: 2,
  numHeads: 4,
  numKvHeads: 2,
  headDim: 8,
  rmsNormEps: 1e-6,
  ropeTheta: 10000,
  maxPositionEmbeddings: 256,
  vocabSize: 2048,
  tieWordEmbeddings: false,
  bosTokenId: 1,
  eosTokenId: 2,
  ropeScaling: null,
};

export const LORA = { r: 4, alpha: 8, dropout: 0, targetModules: ["q_proj", "v_proj"], useRslora: false };

export interface Fixtures {
  root: string;
  /** Single-file checkpoint with tokenizer files. */
  model: string;
  /** The same weights in ≥ 3 shards + index. */
  sharded: string;
  /** A PEFT adapter (r=4, q_proj+v_proj) for `model`. */
  adapter: string;
  /** Hub-layout dataset dir: 3.0.0/{train,test}-00000-of-00001.parquet, 16 and 8 records. */
  dataset: string;
  records: NewsRecord[];
}

export function tokenizerFiles(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of ["tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"])
    out[f] = readFileSync(join(ROOT, "fixtures/tiny", f), "utf8");
  return out;
}

export function writeAdapter(dir: string, model: LlamaConfig, s = LORA, seed = 1): void {
  const rng = rngStream(seed, "reliability-adapter");
  const shapes = new Map(loraShapes(model, s).map((x) => [x.key, x.shape as number[]]));
  const tensors = new Map(
    [...shapes].map(([k, sh]) => [k, Float32Array.from({ length: sh[0] * sh[1] }, () => 0.1 * rng.normal())]),
  );
  saveAdapter(dir, { ...s, bias: "none", fanInFanOut: false }, tensors, shapes);
}

export async function buildFixtures(root: string): Promise<Fixtures> {
  mkdirSync(root, { recursive: true });
  const weights = randomLlamaWeights(CASE_MODEL, "reliability", 0.05);
  const model = join(root, "model");
  saveLlamaCheckpoint(model, CASE_MODEL, weights, { extraFiles: tokenizerFiles() });
  const sharded = join(root, "sharded");
  saveLlamaCheckpoint(sharded, CASE_MODEL, weights, { shardBytes: 200_000 });
  const adapter = join(root, "adapter");
  writeAdapter(adapter, CASE_MODEL);
  const all = await readParquet(join(ROOT, "fixtures/data/synthetic-news/3.0.0/test-00000-of-00001.parquet"));
  const records = all.slice(0, 24);
  const dataset = join(root, "dataset");
  writeParquet(join(dataset, "3.0.0", "train-00000-of-00001.parquet"), records.slice(0, 16));
  writeParquet(join(dataset, "3.0.0", "test-00000-of-00001.parquet"), records.slice(16));
  return { root, model, sharded, adapter, dataset, records };
}

// ── builders ────────────────────────────────────────────────────────────────────────────────────

/** Raw safetensors bytes from a header (object or literal JSON text) and a data section. */
export function rawSafetensors(
  header: unknown,
  data: Uint8Array<ArrayBufferLike> = new Uint8Array(0),
  headerLen?: bigint,
): Uint8Array {
  const json = Buffer.from(typeof header === "string" ? header : JSON.stringify(header), "utf8");
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, headerLen ?? BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** The header (parsed) and data section of a valid safetensors file. */
function splitSafetensors(path: string): { header: Record<string, any>; data: Uint8Array } {
  const b = readFileSync(path);
  const n = Number(b.readBigUInt64LE(0));
  return { header: JSON.parse(b.subarray(8, 8 + n).toString("utf8")), data: b.subarray(8 + n) };
}

/** Rewrite the tensors of a safetensors file through `fn` (a valid file comes out). */
function editTensors(path: string, fn: (t: Record<string, StTensorInput>) => void): void {
  const f = openSafetensors(path);
  const all: Record<string, StTensorInput> = {};
  for (const [name, t] of f.tensors) all[name] = { dtype: "F32", shape: t.shape, data: f.readF32(name) };
  f.close();
  fn(all);
  writeSafetensors(path, all);
}

function editJson(path: string, fn: (j: any) => unknown): void {
  const j = JSON.parse(readFileSync(path, "utf8"));
  const out = fn(j) ?? j;
  writeFileSync(path, JSON.stringify(out, null, 2));
}

const firstTensor = (h: Record<string, any>) => Object.keys(h).find((k) => k !== "__metadata__")!;

/** A bench.config.mts for `run`, writing cache/reports/README under `dir`. */
export function studyConfig(dir: string, o: { model: string; dataset: string; profile?: string }): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "bench.config.mts");
  // The run updates the README's results section, so the study has one with the markers.
  writeFileSync(join(dir, "README.md"), readFileSync(join(ROOT, "README.md"), "utf8"));
  const profile = `{
      description: "reliability case",
      model: { source: ${JSON.stringify(o.model)} },
      dataset: { source: ${JSON.stringify(o.dataset)}, config: "3.0.0", trainSplit: "train", evalSplit: "test" },
      data: { trainN: 8, evalN: 4, subsetSeed: 0 },
      seeds: [1],
      prompt: { instruction: "Summarize the following news article.", articleTokenBudget: 48, maxTargetTokens: 16 },
      lora: { alpha: 16, dropout: 0, targetModules: ["q_proj", "v_proj"] },
      training: { epochs: 1, lr: 1e-3, batchSize: 4, gradAccum: 1, weightDecay: 0, warmupRatio: 0, maxGradNorm: 1 },
      decoding: { maxNewTokens: 4, batchSize: 4 },
      rouge: { useStemmer: false, bootstrapResamples: 1000 },
      arms: [{ id: "base", kind: "base" }, { id: "lora-r8", kind: "lora", r: 8 }],
      device: "cpu",
      ${o.profile ?? ""}
    }`;
  writeFileSync(
    file,
    `import { defineConfig } from ${JSON.stringify(join(ROOT, "harness/study/config.ts"))};
export default defineConfig({
  defaultProfile: "tiny",
  cacheDir: ${JSON.stringify(join(dir, "cache"))},
  reportsDir: ${JSON.stringify(join(dir, "reports"))},
  readme: ${JSON.stringify(join(dir, "README.md"))},
  profiles: { tiny: ${profile} },
});
`,
  );
  return file;
}

// ── the table ───────────────────────────────────────────────────────────────────────────────────

export interface CaseSetup {
  /** `lora-bench` arguments. */
  args: string[];
  /** The file (or directory) the one-line error must name. */
  file: string;
}

export interface BadCase {
  id: string;
  /** The format family, for the summary table. */
  format: string;
  /** What the error line must say. */
  problem: RegExp;
  /** Build the broken input under `dir` (a fresh, empty directory). */
  setup(dir: string, fx: Fixtures): CaseSetup;
}

const f32x2 = { dtype: "F32", shape: [2], data_offsets: [0, 8] };

/** Copy the fixture model to dir/model; run `logits` on it (which reads config + weights). */
function modelCase(
  id: string,
  problem: RegExp,
  breakIt: (model: string, fx: Fixtures) => string,
  from: "model" | "sharded" = "model",
): BadCase {
  return {
    id,
    format: from === "sharded" ? "sharded index" : id.split("/")[0],
    problem,
    setup(dir, fx) {
      const m = join(dir, "model");
      cpSync(fx[from], m, { recursive: true });
      return { args: ["logits", "--model", m, "--ids", "1,5,9"], file: breakIt(m, fx) };
    },
  };
}

/** Model weights replaced by `bytes`: the safetensors parser's cases, read by `logits`. */
function stCase(id: string, problem: RegExp, bytes: (valid: string) => Uint8Array<ArrayBufferLike>): BadCase {
  return modelCase(`safetensors/${id}`, problem, (m) => {
    const p = join(m, "model.safetensors");
    writeFileSync(p, bytes(p));
    return p;
  });
}

/** Adapter copied to dir/adapter and broken; `logits --adapter` reads it against the model. */
function adapterCase(id: string, problem: RegExp, breakIt: (a: string, fx: Fixtures) => string): BadCase {
  return {
    id: `adapter/${id}`,
    format: "adapter",
    problem,
    setup(dir, fx) {
      const a = join(dir, "adapter");
      cpSync(fx.adapter, a, { recursive: true });
      return { args: ["logits", "--model", fx.model, "--adapter", a, "--ids", "1,5"], file: breakIt(a, fx) };
    },
  };
}

/** `run` on a study whose dataset directory is broken by `breakIt`. */
function datasetCase(
  format: string,
  id: string,
  problem: RegExp,
  breakIt: (ds: string, fx: Fixtures) => string,
): BadCase {
  return {
    id: `${format}/${id}`,
    format,
    problem,
    setup(dir, fx) {
      const ds = join(dir, "dataset");
      cpSync(fx.dataset, ds, { recursive: true });
      const file = breakIt(ds, fx);
      return { args: ["run", "--config", studyConfig(dir, { model: fx.model, dataset: ds })], file };
    },
  };
}

/** `run` with a valid bench config whose source text is then edited by `edit`. */
function configCase(id: string, problem: RegExp, edit: (text: string) => string): BadCase {
  return {
    id: `bench config/${id}`,
    format: "bench config",
    problem,
    setup(dir, fx) {
      const file = studyConfig(dir, { model: fx.model, dataset: fx.dataset });
      const text = readFileSync(file, "utf8");
      const out = edit(text);
      if (out === text) throw new Error(`case ${id}: the edit changed nothing`);
      writeFileSync(file, out);
      return { args: ["run", "--config", file], file };
    },
  };
}

/** `diff` of a valid report against one broken by `breakIt`. */
function reportCase(id: string, problem: RegExp, text: () => string): BadCase {
  return {
    id: `report/${id}`,
    format: "report JSON",
    problem,
    setup(dir) {
      const good = join(dir, "a.json");
      const bad = join(dir, "b.json");
      writeFileSync(good, serializeReport(makeReport()));
      writeFileSync(bad, text());
      return { args: ["diff", good, bad], file: bad };
    },
  };
}

const reportWith = (edit: (r: any) => void) => () => {
  const r: any = makeReport();
  edit(r);
  return JSON.stringify(r, null, 2);
};

const pc = (lines: string[]) => `${lines.join("\n")}\n`;
const goodPC = JSON.stringify({ prompt: "The council said ", completion: "it would meet." });
const goodPair = JSON.stringify({ prediction: "the cat sat", reference: "the cat sat down" });

export const CASES: BadCase[] = [
  // safetensors (model weights, read by `logits --model`)
  stCase("header-past-eof", /header length 4096 runs past the end of the file/, (p) => {
    const { header, data } = splitSafetensors(p);
    return rawSafetensors(header, data.subarray(0, 0), 4096n).subarray(0, 100);
  }),
  stCase("header-over-100MB", /over the 100000000-byte limit/, () =>
    rawSafetensors({}, new Uint8Array(8), 100_000_001n),
  ),
  stCase("header-not-json", /header is not valid JSON/, () => rawSafetensors("{not json}")),
  stCase("header-not-utf8", /header is not valid UTF-8/, () => {
    const b = rawSafetensors('{"x":1}  ');
    b[9] = 0xff;
    return b;
  }),
  stCase("shorter-than-8-bytes", /shorter than the 8-byte header length/, () => new Uint8Array(5)),
  stCase("unknown-dtype", /unknown dtype "F8_E4M3"/, (p) => {
    const { header, data } = splitSafetensors(p);
    header[firstTensor(header)].dtype = "F8_E4M3";
    return rawSafetensors(header, data);
  }),
  stCase("offsets-out-of-range", /run past the data section/, (p) => {
    const { header, data } = splitSafetensors(p);
    const e = header[firstTensor(header)];
    e.data_offsets = [e.data_offsets[0], data.length + 4];
    return rawSafetensors(header, data);
  }),
  stCase("offsets-overlap", /"x" and "y" overlap in the data section/, () =>
    rawSafetensors({ x: f32x2, y: { dtype: "F32", shape: [3], data_offsets: [4, 16] } }, new Uint8Array(16)),
  ),
  stCase("hole-in-data", /hole at bytes \[4, 8\)/, () =>
    rawSafetensors(
      { x: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, y: { ...f32x2, data_offsets: [8, 16] } },
      new Uint8Array(16),
    ),
  ),
  stCase("shape-times-dtype-not-bytes", /needs \d+ bytes but data_offsets span \d+/, (p) => {
    const { header, data } = splitSafetensors(p);
    const e = header["model.norm.weight"];
    e.dtype = "F16"; // same byte span, half the bytes needed
    return rawSafetensors(header, data);
  }),
  stCase("duplicate-names", /duplicate key "x"/, () =>
    rawSafetensors(`{"x":${JSON.stringify(f32x2)},"x":${JSON.stringify(f32x2)}}`, new Uint8Array(8)),
  ),
  stCase("truncated-data", /run past the data section|bytes after the last tensor|past the end/, (p) => {
    const b = readFileSync(p);
    return b.subarray(0, b.length - 64);
  }),
  // sharded index
  modelCase(
    "index/missing-shard",
    /shard model-00002-of-0000\d\.safetensors named in the index is missing/,
    (m) => {
      rmSync(
        join(
          m,
          readdirSync(m)
            .filter((f) => f.startsWith("model-"))
            .sort()[1],
        ),
      );
      return join(m, "model.safetensors.index.json");
    },
    "sharded",
  ),
  modelCase(
    "index/tensor-not-in-shard",
    /"model.norm.weight" named in the index is not in model-00001/,
    (m) => {
      const ix = join(m, "model.safetensors.index.json");
      const first = readdirSync(m)
        .filter((f) => f.startsWith("model-"))
        .sort()[0];
      editJson(ix, (j) => {
        j.weight_map["model.norm.weight"] = first;
      });
      return ix;
    },
    "sharded",
  ),
  modelCase(
    "index/tensor-missing-from-index",
    /missing tensor "model.layers.0.mlp.gate_proj.weight"/,
    (m) => {
      const ix = join(m, "model.safetensors.index.json");
      editJson(ix, (j) => {
        delete j.weight_map["model.layers.0.mlp.gate_proj.weight"];
      });
      return ix;
    },
    "sharded",
  ),
  modelCase(
    "index/not-json",
    /not valid JSON/,
    (m) => {
      writeFileSync(join(m, "model.safetensors.index.json"), "{[");
      return join(m, "model.safetensors.index.json");
    },
    "sharded",
  ),
  modelCase(
    "index/no-weight-map",
    /no "weight_map" object/,
    (m) => {
      const ix = join(m, "model.safetensors.index.json");
      editJson(ix, (j) => {
        delete j.weight_map;
      });
      return ix;
    },
    "sharded",
  ),
  // config.json
  ...(
    [
      ["missing-hidden-size", /missing "hidden_size"/, (j: any) => void delete j.hidden_size],
      [
        "non-numeric-hidden-size",
        /"hidden_size" must be a positive integer/,
        (j: any) => {
          j.hidden_size = "32";
        },
      ],
      [
        "fractional-vocab",
        /"vocab_size" must be a positive integer/,
        (j: any) => {
          j.vocab_size = 2048.5;
        },
      ],
      [
        "heads-not-dividing-hidden",
        /hidden_size 30 is not divisible by num_attention_heads 4/,
        (j: any) => {
          j.hidden_size = 30;
          delete j.head_dim;
        },
      ],
      [
        "kv-heads-not-dividing-heads",
        /not divisible by num_key_value_heads 3/,
        (j: any) => {
          j.num_key_value_heads = 3;
        },
      ],
      [
        "unsupported-architecture",
        /unsupported architecture "qwen2"/,
        (j: any) => {
          j.model_type = "qwen2";
          j.architectures = ["Qwen2ForCausalLM"];
        },
      ],
      [
        "rope-scaling",
        /rope_type "dynamic" \(rope_scaling\) is unsupported/,
        (j: any) => {
          j.rope_scaling = { type: "dynamic", factor: 2 };
        },
      ],
      [
        "rope-parameters-v5",
        /rope_type "yarn" \(rope_parameters\) is unsupported/,
        (j: any) => {
          delete j.rope_theta;
          delete j.rope_scaling;
          j.rope_parameters = { rope_type: "yarn", rope_theta: 10000, factor: 4 };
        },
      ],
      [
        "mlp-bias",
        /mlp_bias true is unsupported/,
        (j: any) => {
          j.mlp_bias = true;
        },
      ],
    ] as [string, RegExp, (j: any) => void][]
  ).map(([id, re, edit]) =>
    modelCase(`config.json/${id}`, re, (m) => {
      editJson(join(m, "config.json"), edit);
      return join(m, "config.json");
    }),
  ),
  modelCase("config.json/not-json", /not valid JSON/, (m) => {
    writeFileSync(join(m, "config.json"), '{"model_type": "llama",');
    return join(m, "config.json");
  }),
  {
    id: "config.json/not-json-in-run",
    format: "config.json",
    problem: /not valid JSON/,
    setup(dir, fx) {
      const m = join(dir, "model");
      cpSync(fx.model, m, { recursive: true });
      writeFileSync(join(m, "config.json"), '{"model_type": "llama",');
      return {
        args: ["run", "--config", studyConfig(dir, { model: m, dataset: fx.dataset })],
        file: join(m, "config.json"),
      };
    },
  },
  modelCase("config.json/missing", /no config.json in checkpoint directory/, (m) => {
    rmSync(join(m, "config.json"));
    return m;
  }),
  // adapter vs model
  adapterCase("rank-mismatch", /has rank 4 but adapter_config.json says r 8/, (a) => {
    editJson(join(a, "adapter_config.json"), (j) => {
      j.r = 8;
    });
    return join(a, "adapter_model.safetensors");
  }),
  adapterCase("targets-mismatch", /has tensors for v_proj, which target_modules .* does not list/, (a) => {
    editJson(join(a, "adapter_config.json"), (j) => {
      j.target_modules = ["q_proj"];
    });
    return join(a, "adapter_model.safetensors");
  }),
  adapterCase("shapes-mismatch", /has shape \[4,48\], expected \[4,32\] for this model/, (a) => {
    writeAdapter(a, { ...CASE_MODEL, hiddenSize: 48, headDim: 12 });
    return join(a, "adapter_model.safetensors");
  }),
  adapterCase("more-layers-than-model", /has tensors for layer 2 but the model has 2 layers/, (a) => {
    writeAdapter(a, { ...CASE_MODEL, numLayers: 3 });
    return join(a, "adapter_model.safetensors");
  }),
  adapterCase("unknown-peft-type", /unsupported PEFT type "IA3"/, (a) => {
    editJson(join(a, "adapter_config.json"), (j) => {
      j.peft_type = "IA3";
    });
    return join(a, "adapter_config.json");
  }),
  adapterCase("dora", /use_dora true is unsupported/, (a) => {
    editJson(join(a, "adapter_config.json"), (j) => {
      j.use_dora = true;
    });
    return join(a, "adapter_config.json");
  }),
  adapterCase("config-not-json", /not valid JSON/, (a) => {
    writeFileSync(join(a, "adapter_config.json"), "{");
    return join(a, "adapter_config.json");
  }),
  adapterCase("weights-missing", /no adapter_model.safetensors in adapter directory/, (a) => {
    rmSync(join(a, "adapter_model.safetensors"));
    return a;
  }),
  adapterCase("missing-tensor", /missing tensor ".*layers.1.self_attn.v_proj.lora_B.weight"/, (a) => {
    const p = join(a, "adapter_model.safetensors");
    editTensors(p, (t) => void delete t["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"]);
    return p;
  }),
  adapterCase("weights-truncated", /past the end of the file|shorter than the 8-byte/, (a) => {
    const p = join(a, "adapter_model.safetensors");
    truncateSync(p, 40);
    return p;
  }),
  // tokenizer (read by `generate`)
  ...["tokenizer.json", "tokenizer_config.json"].map(
    (f): BadCase => ({
      id: `tokenizer/${f}-missing`,
      format: "tokenizer",
      problem: new RegExp(`missing tokenizer file ${f.replace(".", "\\.")}`),
      setup(dir, fx) {
        const m = join(dir, "model");
        cpSync(fx.model, m, { recursive: true });
        rmSync(join(m, f));
        return {
          args: ["generate", "--model", m, "--prompt", "The council", "--max-new-tokens", "2"],
          file: m,
        };
      },
    }),
  ),
  {
    id: "tokenizer/tokenizer.json-not-json",
    format: "tokenizer",
    problem: /cannot load tokenizer/,
    setup(dir, fx) {
      const m = join(dir, "model");
      cpSync(fx.model, m, { recursive: true });
      writeFileSync(join(m, "tokenizer.json"), '{"model": {');
      return {
        args: ["generate", "--model", m, "--prompt", "The council", "--max-new-tokens", "2"],
        file: m,
      };
    },
  },
  // parquet (the dataset `run` reads)
  datasetCase("parquet", "truncated", /parquet file cut short \(truncated\)/, (ds) => {
    const p = join(ds, "3.0.0", "train-00000-of-00001.parquet");
    const b = readFileSync(p);
    writeFileSync(p, b.subarray(0, Math.floor(b.length / 2)));
    return p;
  }),
  datasetCase("parquet", "missing-column", /missing column "highlights"/, (ds, fx) => {
    const p = join(ds, "3.0.0", "train-00000-of-00001.parquet");
    const rows = fx.records.slice(0, 16);
    const buf = parquetWriteBuffer({
      columnData: [
        { name: "article", data: rows.map((r) => r.article), type: "STRING", nullable: false },
        { name: "id", data: rows.map((r) => r.id), type: "STRING", nullable: false },
      ],
    });
    writeFileSync(p, new Uint8Array(buf));
    return p;
  }),
  datasetCase("parquet", "not-parquet", /not a parquet file/, (ds) => {
    const p = join(ds, "3.0.0", "test-00000-of-00001.parquet");
    writeFileSync(p, "id,article,highlights\n1,a,b\n");
    return p;
  }),
  datasetCase("parquet", "corrupt-footer", /corrupt parquet (footer|data)/, (ds) => {
    const p = join(ds, "3.0.0", "train-00000-of-00001.parquet");
    const b = readFileSync(p);
    b.fill(0xff, b.length - 40, b.length - 8); // footer bytes, magic kept
    writeFileSync(p, b);
    return p;
  }),
  datasetCase("parquet", "missing-shard", /missing parquet shard train-00001-of-00002\.parquet/, (ds) => {
    const d = join(ds, "3.0.0");
    cpSync(join(d, "train-00000-of-00001.parquet"), join(d, "train-00000-of-00002.parquet"));
    rmSync(join(d, "train-00000-of-00001.parquet"));
    return d;
  }),
  // JSONL
  datasetCase("jsonl", "dataset-bad-line", /:3: not valid JSON/, (ds, fx) => {
    rmSync(join(ds, "3.0.0"), { recursive: true });
    const lines = fx.records.slice(0, 16).map((r) => JSON.stringify(r));
    lines[2] = '{"id": "x", "article": "unterminated';
    writeFileSync(join(ds, "train.jsonl"), pc(lines));
    writeFileSync(join(ds, "test.jsonl"), pc(fx.records.slice(16).map((r) => JSON.stringify(r))));
    return `${join(ds, "train.jsonl")}:3`;
  }),
  datasetCase("jsonl", "dataset-missing-field", /:5: missing field "highlights"/, (ds, fx) => {
    rmSync(join(ds, "3.0.0"), { recursive: true });
    const lines = fx.records.slice(0, 16).map((r) => JSON.stringify(r));
    lines[4] = JSON.stringify({ id: "x", article: "a" });
    writeFileSync(join(ds, "train.jsonl"), pc(lines));
    writeFileSync(join(ds, "test.jsonl"), pc(fx.records.slice(16).map((r) => JSON.stringify(r))));
    return `${join(ds, "train.jsonl")}:5`;
  }),
  datasetCase("story", "empty-story-dir", /no \.story files/, (ds) => {
    rmSync(join(ds, "3.0.0"), { recursive: true });
    mkdirSync(join(ds, "train"));
    return join(ds, "train");
  }),
  {
    id: "jsonl/rouge-bad-line",
    format: "jsonl",
    problem: /:3: not valid JSON/,
    setup(dir) {
      const p = join(dir, "pairs.jsonl");
      writeFileSync(p, pc([goodPair, goodPair, '{"prediction": "a", "reference": }', goodPair]));
      return { args: ["rouge", "--input", p], file: `${p}:3` };
    },
  },
  {
    id: "jsonl/rouge-missing-field",
    format: "jsonl",
    problem: /:2: missing field "reference"/,
    setup(dir) {
      const p = join(dir, "pairs.jsonl");
      writeFileSync(p, pc([goodPair, JSON.stringify({ prediction: "x" })]));
      return { args: ["rouge", "--input", p], file: `${p}:2` };
    },
  },
  ...(
    [
      ["train-bad-line", /line 4: not valid JSON/, [goodPC, goodPC, goodPC, "{oops", goodPC]],
      [
        "train-wrong-shape",
        /line 2: expected \{"prompt": string, "completion": string\}/,
        [goodPC, "[1, 2]"],
      ],
      ["train-empty", /no examples \(empty file\)/, ["", ""]],
    ] as [string, RegExp, string[]][]
  ).map(
    ([id, problem, lines]): BadCase => ({
      id: `jsonl/${id}`,
      format: "jsonl",
      problem,
      setup(dir, fx) {
        const p = join(dir, "train.jsonl");
        writeFileSync(p, pc(lines));
        // --out inside dir: the listing check proves no adapter (or temp dir) appears.
        const args = ["train", "--model", fx.model, "--data", p, "--rank", "4", "--epochs", "1"];
        return { args: [...args, "--out", join(dir, "adapter-out")], file: p };
      },
    }),
  ),
  // report JSON (read by `diff`)
  reportCase("not-json", /not valid JSON/, () => '{"schema_version": 1,'),
  reportCase(
    "missing-required",
    /invalid report: \$: must have required property|\$\.profile: is required/,
    reportWith((r) => delete r.profile),
  ),
  reportCase(
    "wrong-type",
    /invalid report: \$\.arms\[0\]\.train_n/,
    reportWith((r) => {
      r.arms[0].train_n = "100";
    }),
  ),
  reportCase(
    "unknown-key",
    /invalid report: \$\.surprise: is not allowed/,
    reportWith((r) => {
      r.surprise = 1;
    }),
  ),
  reportCase(
    "bad-verdict",
    /invalid report: \$\.claims\[0\]\.verdict: must be one of/,
    reportWith((r) => {
      r.claims[0].verdict = "maybe";
    }),
  ),
  reportCase(
    "duplicate-arm",
    /duplicate arm id "base"/,
    reportWith((r) => void r.arms.push(makeArm("base"))),
  ),
  // bench config (read by `run`)
  configCase("unknown-key", /config\.profiles\.tiny\.sedes is not a known key/, (t) =>
    t.replace("seeds: [1],", "seeds: [1], sedes: 3,"),
  ),
  configCase("unknown-top-key", /config\.cachedir is not a known key/, (t) =>
    t.replace("profiles: {", 'cachedir: "x", profiles: {'),
  ),
  configCase("lr-out-of-range", /config\.profiles\.tiny\.training\.lr must be in \[0, 1\], got -1/, (t) =>
    t.replace("lr: 1e-3", "lr: -1"),
  ),
  configCase("lora-arm-without-r", /arms "lora-r8": a lora arm needs r/, (t) =>
    t.replace('kind: "lora", r: 8', 'kind: "lora"'),
  ),
  configCase("duplicate-arm-id", /duplicate arm id "base"/, (t) =>
    t.replace('{ id: "lora-r8", kind: "lora", r: 8 }', '{ id: "base", kind: "base" }'),
  ),
  configCase("not-loadable", /cannot load config/, (t) => t.replace("export default", "export default ((")),
];

// ── running a case ──────────────────────────────────────────────────────────────────────────────

export interface CliRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The real CLI in a child process, asynchronously (so cases can run side by side). */
export function cliAsync(args: string[], opts: { cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    const timer = setTimeout(() => child.kill("SIGKILL"), opts.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolveRun({ code, signal, stdout, stderr });
    });
  });
}

/** Every path under dir (relative, sorted), directories marked with a trailing "/". */
export function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((e) => {
      const rel = join(e.parentPath, e.name).slice(dir.length + 1);
      return e.isDirectory() ? `${rel}/` : rel;
    })
    .sort();
}

export interface CaseOutcome {
  id: string;
  format: string;
  run: CliRun;
  file: string;
  /** What is wrong with the outcome; empty for a clear error. */
  problems: string[];
}

/** Judge a run: exit 2, one stderr line naming file and problem, no stack, nothing written. */
export function checkOutcome(
  c: BadCase,
  file: string,
  run: CliRun,
  before: string[],
  after: string[],
): string[] {
  const out: string[] = [];
  const lines = run.stderr.split("\n").filter((l) => l.trim() !== "");
  if (run.code !== 2) out.push(`exit code ${run.code ?? run.signal}, expected 2`);
  if (lines.length !== 1) out.push(`${lines.length} lines on stderr, expected 1`);
  const line = lines[0] ?? "";
  if (!line.includes(file)) out.push(`error line does not name ${file}`);
  if (!c.problem.test(line)) out.push(`error line does not match ${c.problem}`);
  if (/internal error|\n\s+at |^\s+at /m.test(run.stderr)) out.push("stack trace on stderr");
  if (run.stdout !== "") out.push("output on stdout");
  const added = after.filter((p) => !before.includes(p));
  const removed = before.filter((p) => !after.includes(p));
  if (added.length) out.push(`left behind: ${added.join(", ")}`);
  if (removed.length) out.push(`removed: ${removed.join(", ")}`);
  if (out.length) out.push(`stderr: ${run.stderr.trim().slice(0, 400)}`);
  return out;
}

/** Build the case in dir, run the CLI, judge the outcome. */
export async function runCase(c: BadCase, dir: string, fx: Fixtures): Promise<CaseOutcome> {
  mkdirSync(dir, { recursive: true });
  const { args, file } = c.setup(dir, fx);
  const before = listing(dir);
  const run = await cliAsync(args, { cwd: dir });
  const problems = checkOutcome(c, file, run, before, listing(dir));
  return { id: c.id, format: c.format, run, file, problems };
}

/** Run `items` through `fn` with at most `n` in flight. */
export async function pool<T, R>(items: T[], n: number, fn: (x: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}
