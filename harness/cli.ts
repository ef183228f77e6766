/**
 * `lora-bench` — a thin dispatcher. Each subcommand lives beside the stage it belongs to and exports
 * `run(argv): Promise<number>` (the exit code). User errors are one line on stderr and exit 2.
 */
import { UserError } from "./errors.ts";

type CommandModule = { run(argv: string[]): Promise<number> };

const commands: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  logits: { summary: "logits of a token sequence (JSON)", load: () => import("./engine/commands/logits.ts") },
  "loss-grad": {
    summary: "loss and LoRA gradients for one sequence (JSON)",
    load: () => import("./engine/commands/loss-grad.ts"),
  },
  train: {
    summary: "fine-tune a LoRA adapter on prompt/completion JSONL",
    load: () => import("./engine/commands/train.ts"),
  },
  generate: { summary: "generate text from a prompt", load: () => import("./engine/commands/generate.ts") },
  perf: {
    summary: "engine throughput benchmark → reports/perf.json",
    load: () => import("./engine/commands/perf.ts"),
  },
  run: {
    summary: "run the study: arms, claims, report, README (npm run bench)",
    load: () => import("./study/commands/run.ts"),
  },
  plan: {
    summary: "the arms of a profile with hash and cost (JSON with --json)",
    load: () => import("./study/commands/plan.ts"),
  },
  merge: {
    summary: "merge arm results from several cache dirs into one report",
    load: () => import("./study/commands/merge.ts"),
  },
  diff: {
    summary: "compare two reports (files or git refs)",
    load: () => import("./report/diff-command.ts"),
  },
  summary: {
    summary: "write a GitHub job summary for a report",
    load: () => import("./report/summary-command.ts"),
  },
  rouge: {
    summary: "ROUGE of prediction/reference pairs (JSON)",
    load: () => import("./metrics/command.ts"),
  },
};

function usage(): string {
  const names = Object.keys(commands);
  const w = Math.max(...names.map((n) => n.length));
  return `usage: lora-bench <command> [options]\n\n${names.map((n) => `  ${n.padEnd(w)}  ${commands[n].summary}`).join("\n")}\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const cmd = commands[name];
  if (!cmd) throw new UserError(`unknown command "${name}" (try --help)`);
  return (await cmd.load()).run(rest);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UserError) {
      process.stderr.write(`lora-bench: ${err.message.replace(/\s*\n\s*/g, " ")}\n`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`lora-bench: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
