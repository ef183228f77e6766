import { readPromptCompletion } from "../../data/prompt-completion.ts";
import { loadTokenizer } from "../../data/tokenizer.ts";
import { saveAdapter } from "../../engine/adapter-io.ts";
import { LORA_MODULES, loraShapes } from "../../engine/architecture.ts";
import { initLora, type LoraSettings } from "../../engine/lora.ts";
import { parseDevice } from "../../engine/session.ts";
import { type TrainExample, train } from "../../engine/train.ts";
import { UserError } from "../../errors.ts";
import { DEVICE_FLAG, defineCommand, JSON_FLAG, MODEL_FLAGS, QUANT_FLAG } from "../command.ts";
import { parseNumber } from "../flags.ts";
import { checkQuantFlag, openModel } from "../model-io.ts";
import { progressLine } from "../progress.ts";

export default defineCommand({
  name: "train",
  description:
    'Fine-tune a LoRA adapter on prompt/completion JSONL (one {"prompt": …, "completion": …} a line); the\n' +
    "loss is taken on the completion (+ EOS) only. Progress on stderr; --json prints one JSON line per\n" +
    "optimizer step on stdout.",
  flags: {
    model: MODEL_FLAGS.model,
    data: { type: "string", arg: "FILE.jsonl", help: "training examples", required: true },
    out: { type: "string", arg: "DIR", help: "where the PEFT adapter is written", required: true },
    rank: { type: "string", arg: "R", help: "LoRA rank (default 8)" },
    alpha: { type: "string", arg: "A", help: "LoRA alpha (default 16)" },
    targets: { type: "string", arg: "q_proj,v_proj", help: "modules to adapt (default q_proj,v_proj)" },
    dropout: { type: "string", arg: "P", help: "LoRA dropout (default 0.05)" },
    rslora: { type: "boolean", help: "scale by alpha/sqrt(r) (rsLoRA)" },
    epochs: { type: "string", arg: "N", help: "epochs (default 3)" },
    lr: { type: "string", arg: "X", help: "peak learning rate (default 2e-4)" },
    "batch-size": { type: "string", arg: "N", help: "examples per micro-batch (default 4)" },
    "grad-accum": { type: "string", arg: "N", help: "micro-batches per optimizer step (default 1)" },
    "weight-decay": { type: "string", arg: "X", help: "AdamW weight decay (default 0)" },
    "warmup-ratio": { type: "string", arg: "X", help: "linear warm-up fraction (default 0)" },
    "max-length": { type: "string", arg: "N", help: "truncate examples to N tokens (default 1024)" },
    seed: { type: "string", arg: "S", help: "seed of init, dropout and order (default 42)" },
    ...DEVICE_FLAG,
    ...QUANT_FLAG,
    ...JSON_FLAG,
  },
  async run({ values }) {
    const modelDir = values.model;
    await checkQuantFlag(values.quant, modelDir, parseDevice(values.device));
    const dataPath = values.data;
    const outDir = values.out;
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
    const { ckpt, model } = await openModel(modelDir, parseDevice(values.device), values.quant);
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
  },
});
