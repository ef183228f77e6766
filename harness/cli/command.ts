/**
 * One shape for every `lora-bench` subcommand: a name, its flags (each with a line of help), an
 * optional positional synopsis and a `run`. `defineCommand` adds `--help`/`-h`, required-flag checks
 * and the usage text, so no command hand-writes its own.
 */
import { setThreads } from "../engine/session.ts";
import { UserError } from "../errors.ts";
import { parseFlags } from "./flags.ts";

export interface Flag {
  type: "string" | "boolean";
  /** Shown after the flag in --help, e.g. "DIR". */
  arg?: string;
  help: string;
  short?: string;
  multiple?: boolean;
  required?: boolean;
}
export type Flags = Record<string, Flag>;

type Value<F extends Flag> = F["type"] extends "boolean"
  ? boolean | undefined
  : F["multiple"] extends true
    ? string[] | undefined
    : F["required"] extends true
      ? string
      : string | undefined;
export type Values<F extends Flags> = { -readonly [K in keyof F]: Value<F[K]> };

export interface CommandDef<F extends Flags> {
  name: string;
  /** What the command does, for --help (a sentence or a short paragraph). */
  description: string;
  /** The positional part of the synopsis, e.g. "A B" or "DIR…". */
  positionals?: string;
  flags: F;
  run(args: { values: Values<F>; positionals: string[] }): Promise<number>;
}

export interface Command {
  name: string;
  usage(): string;
  /** Parse argv and run; `--help` prints the usage and returns 0. */
  run(argv: string[]): Promise<number>;
}

// Flags several commands share; spread them into a command's `flags`.
export const DEVICE_FLAG = {
  device: { type: "string", arg: "cpu|cuda|webgpu", help: "execution provider (default: cpu)" },
  threads: {
    type: "string",
    arg: "N",
    help: "onnxruntime intra-op threads (default: $LORA_BENCH_THREADS, else every core)",
  },
} as const satisfies Flags;
export const JSON_FLAG = {
  json: { type: "boolean", help: "machine-readable JSON on stdout" },
} as const satisfies Flags;
export const QUANT_FLAG = {
  quant: {
    type: "string",
    arg: "nf4|int4",
    help: "hold the decoder linears in 4 bits (QLoRA): NF4 in blocks of 64, or int4 in blocks of 32 (MatMulNBits)",
  },
} as const satisfies Flags;
export const MODEL_FLAGS = {
  model: { type: "string", arg: "DIR", help: "Hugging Face Llama checkpoint directory", required: true },
  adapter: { type: "string", arg: "DIR", help: "PEFT LoRA adapter directory" },
} as const satisfies Flags;

export function usageText(def: CommandDef<Flags>): string {
  const rows = Object.entries(def.flags).map(([name, f]) => {
    const left = `${f.short ? `-${f.short}, ` : ""}--${name}${f.arg ? ` ${f.arg}` : ""}`;
    const notes = [f.required ? "required" : "", f.multiple ? "repeatable" : ""].filter(Boolean);
    return [left, notes.length ? `${f.help} (${notes.join(", ")})` : f.help];
  });
  rows.push(["-h, --help", "show this help"]);
  const w = Math.max(...rows.map(([l]) => l.length));
  const synopsis = [`lora-bench ${def.name}`, def.positionals, "[options]"].filter(Boolean).join(" ");
  return `usage: ${synopsis}\n\n${def.description}\n\noptions:\n${rows.map(([l, r]) => `  ${l.padEnd(w)}  ${r}`).join("\n")}\n`;
}

export function defineCommand<const F extends Flags>(def: CommandDef<F>): Command {
  const usage = () => usageText(def as unknown as CommandDef<Flags>);
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {
    help: { type: "boolean", short: "h" },
  };
  for (const [name, f] of Object.entries(def.flags)) {
    options[name] = { type: f.type };
    if (f.short) options[name].short = f.short;
    if (f.multiple) options[name].multiple = true;
  }
  return {
    name: def.name,
    usage,
    async run(argv) {
      const { values, positionals } = parseFlags(argv, options, def.name);
      if (values.help) {
        process.stdout.write(usage());
        return 0;
      }
      for (const [name, f] of Object.entries(def.flags))
        if (f.required && (values[name] === undefined || values[name] === ""))
          throw new UserError(`${def.name}: missing required flag --${name} (try --help)`);
      // --threads sets the process's thread count, so every session the command opens uses it.
      if ("threads" in def.flags && typeof values.threads === "string") setThreads(values.threads);
      return def.run({ values: values as Values<F>, positionals });
    },
  };
}
