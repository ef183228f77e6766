/**
 * `lora-bench` — a thin dispatcher over harness/cli/commands/* (listed in registry.ts). Each command
 * is a `defineCommand`: flags with help and an automatic --help.
 * User errors are one line on stderr and exit 2.
 */
import { UserError } from "../errors.ts";
import { COMMAND_NAMES, commands } from "./registry.ts";

function usage(): string {
  const w = Math.max(...COMMAND_NAMES.map((n) => n.length));
  const rows = COMMAND_NAMES.map((n) => `  ${n.padEnd(w)}  ${commands[n].brief}`);
  return `usage: lora-bench <command> [options]\n\n${rows.join("\n")}\n\n'lora-bench <command> --help' shows a command's options.\n`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h") {
    process.stdout.write(usage());
    return name ? 0 : 2;
  }
  const entry = Object.hasOwn(commands, name) ? commands[name] : undefined;
  if (!entry) throw new UserError(`unknown command "${name}" (try --help)`);
  return (await entry.load()).default.run(rest);
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
