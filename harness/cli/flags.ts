import { parseArgs } from "node:util";
import { UserError } from "../errors.ts";

type OptSpec = Record<
  string,
  { type: "string" | "boolean"; short?: string; multiple?: boolean; default?: string | boolean }
>;

/** parseArgs with user-facing errors (unknown flag, missing value) instead of stack traces. */
export function parseFlags<T extends OptSpec>(argv: string[], options: T, command: string) {
  // `--labels -100,5` must work: a negative number after a string flag is its value, not a flag.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith("--") ? argv[i].slice(2) : "";
    if (options[name]?.type === "string" && /^-\d/.test(argv[i + 1] ?? ""))
      args.push(`${argv[i]}=${argv[++i]}`);
    else args.push(argv[i]);
  }
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UserError(`${command}: ${(err as Error).message.split("\n")[0]}`);
  }
}

export function parseIntList(value: string, flag: string): number[] {
  const parts = value.split(",").map((s) => s.trim());
  const out = parts.map((s) => (/^-?\d+$/.test(s) ? Number(s) : Number.NaN));
  const bad = out.findIndex((x) => !Number.isSafeInteger(x));
  if (parts.length === 0 || bad >= 0)
    throw new UserError(`--${flag}: "${parts[bad] ?? value}" is not an integer`);
  return out;
}

export function parseNumber(value: string | undefined, flag: string, fallback?: number): number {
  if (value === undefined) {
    if (fallback === undefined) throw new UserError(`missing required flag --${flag}`);
    return fallback;
  }
  const x = Number(value);
  if (value.trim() === "" || !Number.isFinite(x))
    throw new UserError(`--${flag}: "${value}" is not a number`);
  return x;
}
