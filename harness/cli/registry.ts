/** Every `lora-bench` command, loaded on demand so that `lora-bench rouge` never loads the engine. */
import type { Command } from "./command.ts";

export type Entry = { brief: string; load: () => Promise<{ default: Command }> };

export const commands: Record<string, Entry> = {
  run: {
    brief: "run the study: arms, claims, report, README (npm run bench)",
    load: () => import("./commands/run.ts"),
  },
  plan: {
    brief: "the arms of a profile with hash and cost (JSON with --json)",
    load: () => import("./commands/plan.ts"),
  },
  merge: {
    brief: "merge arm results from several cache dirs into one report",
    load: () => import("./commands/merge.ts"),
  },
  diff: { brief: "compare two reports (files or git refs)", load: () => import("./commands/diff.ts") },
  summary: {
    brief: "write a GitHub job summary for a report",
    load: () => import("./commands/summary.ts"),
  },
  html: {
    brief: "regenerate the self-contained HTML report of a profile",
    load: () => import("./commands/html.ts"),
  },
  power: {
    brief: "examples and seeds needed to detect an effect on a claim (80% power)",
    load: () => import("./commands/power.ts"),
  },
  rouge: { brief: "ROUGE of prediction/reference pairs (JSON)", load: () => import("./commands/rouge.ts") },
  train: {
    brief: "fine-tune a LoRA adapter on prompt/completion JSONL",
    load: () => import("./commands/train.ts"),
  },
  generate: { brief: "generate text from a prompt", load: () => import("./commands/generate.ts") },
  export: {
    brief: "write the model (adapter merged) as a transformers.js ONNX folder",
    load: () => import("./commands/export.ts"),
  },
  logits: { brief: "logits of a token sequence (JSON)", load: () => import("./commands/logits.ts") },
  "loss-grad": {
    brief: "loss and LoRA gradients for one sequence (JSON)",
    load: () => import("./commands/loss-grad.ts"),
  },
  perf: {
    brief: "engine throughput benchmark → reports/perf.json",
    load: () => import("./commands/perf.ts"),
  },
  "gpu-check": {
    brief: "first run on a GPU: adapter, placement, numerics against the CPU",
    load: () => import("./commands/gpu-check.ts"),
  },
};

export const COMMAND_NAMES = Object.keys(commands);
