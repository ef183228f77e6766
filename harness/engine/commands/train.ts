/**
 * `lora-bench train --model DIR --data FILE.jsonl --rank 8 --alpha 16 --targets q_proj,v_proj
 *   --epochs N --lr X --seed S --out ADAPTER_DIR` — data lines are {"prompt": …, "completion": …};
 * the loss is taken on the completion (+ EOS) only. Progress on stderr; `--json` prints one JSON
 * line per optimizer step on stdout.
 */
import { readFileSync } from "node:fs";
import { parseFlags, parseNumber, requireFlag } from "../../args.ts";
import { loadTokenizer } from "../../data/tokenizer.ts";
import { fsError, UserError } from "../../errors.ts";
import { LORA_MODULES, saveAdapter } from "../adapter-io.ts";
import { initLora, type LoraSettings, loraShapes } from "../lora.ts";
import { parseDevice } from "../session.ts";
import { type TrainExample, train } from "../train.ts";
import { openModel } from "./common.ts";
import { progressLine } from "./progress.ts";

export function readPromptCompletion(path: string): { prompt: string; completion: string }[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fsError(err, path);
  }
  const out: { prompt: string; completion: string }[] = [];
  text.split("\n").forEach((line, i) => {
    if (line.trim() === "") return;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch {
      throw new UserError(`line ${i + 1}: not valid JSON`, path);
    }
    const o = obj as Record<string, unknown>;
    if (
      typeof o !== "object" ||
      o === null ||
      typeof o.prompt !== "string" ||
      typeof o.completion !== "string"
    )
      throw new UserError(`line ${i + 1}: expected {"prompt": string, "completion": string}`, path);
    out.push({ prompt: o.prompt, completion: o.completion });
  });
  if (out.length === 0) throw new UserError("no examples (empty file)", path);
  return out;
}

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      model: { type: "string" },
      data: { type: "string" },
      rank: { type: "string" },
      alpha: { type: "string" },
      targets: { type: "string" },
      dropout: { type: "string" },
      rslora: { type: "boolean" },
      epochs: { type: "string" },
      lr: { type: "string" },
      "batch-size": { type: "string" },
      "grad-accum": { type: "string" },
      "weight-decay": { type: "string" },
      "warmup-ratio": { type: "string" },
      "max-length": { type: "string" },
      seed: { type: "string" },
      out: { type: "string" },
      device: { type: "string" },
      json: { type: "boolean" },
    },
    "train",
  );
  const cmd = "train";
  const modelDir = requireFlag(values.model, "model", cmd);
  const dataPath = requireFlag(values.data, "data", cmd);
  const outDir = requireFlag(values.out, "out", cmd);
  const targets = (values.targets ?? "q_proj,v_proj").split(",").map((s) => s.trim());
  for (const t of targets)
    if (!(t in LORA_MODULES))
      throw new UserError(`--targets: "${t}" is not one of ${Object.keys(LORA_MODULES).join(", ")}`);
  const posInt = (v: string | undefined, flag: string, d: number) => {
    const x = parseNumber(v, flag, d);
    if (!Number.isInteger(x) || x < 1) throw new UserError(`--${flag}: "${v}" must be a positive integer`);
    return x;
  };
  const settings: LoraSettings = {
    r: posInt(values.rank, "rank", 8),
    alpha: parseNumber(values.alpha, "alpha", 16),
    dropout: parseNumber(values.dropout, "dropout", 0.05),
    targetModules: targets,
    useRslora: values.rslora ?? false,
  };
  if (settings.dropout < 0 || settings.dropout >= 1) throw new UserError(`--dropout must be in [0, 1)`);
  const seed = parseNumber(values.seed, "seed", 42);
  const maxLength = posInt(values["max-length"], "max-length", 1024);
  const rows = readPromptCompletion(dataPath);
  const { ckpt, model } = openModel(modelDir, parseDevice(values.device));
  const tok = await loadTokenizer(modelDir);
  const data: TrainExample[] = rows.map(({ prompt, completion }) => {
    const p = tok.encode(prompt, { addSpecialTokens: true });
    const full = tok.encode(prompt + completion, { addSpecialTokens: true });
    // Tokenise prompt + completion together (as generation will see them); the prompt's tokens are masked.
    const ids = [...full, tok.eosId].slice(0, maxLength);
    const labels = ids.map((id, i) => (i < p.length ? -100 : id));
    return { inputIds: ids, labels };
  });
  const lora = initLora(ckpt.config, settings, seed);
  const res = await train(
    model,
    data,
    {
      epochs: posInt(values.epochs, "epochs", 3),
      lr: parseNumber(values.lr, "lr", 2e-4),
      batchSize: posInt(values["batch-size"], "batch-size", 4),
      gradAccum: posInt(values["grad-accum"], "grad-accum", 1),
      weightDecay: parseNumber(values["weight-decay"], "weight-decay", 0),
      warmupRatio: parseNumber(values["warmup-ratio"], "warmup-ratio", 0),
      seed,
      dropout: settings.dropout,
      onStep: (s) => {
        if (values.json) process.stdout.write(`${JSON.stringify(s)}\n`);
        else
          progressLine(
            `step ${s.step}/${s.totalSteps}  loss ${s.loss.toFixed(4)}  lr ${s.lr.toExponential(2)}`,
            s,
          );
      },
    },
    lora,
  );
  const shapes = new Map(loraShapes(ckpt.config, settings).map(({ key, shape }) => [key, shape]));
  saveAdapter(
    outDir,
    { ...settings, bias: "none", fanInFanOut: false },
    lora.tensors as Map<string, Float32Array>,
    shapes,
    modelDir,
  );
  progressLine.done(
    `trained ${res.steps} steps on ${data.length} examples in ${res.seconds.toFixed(1)} s → ${outDir}`,
  );
  await model.release();
  return 0;
}
