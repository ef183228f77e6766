/**
 * Prediction/reference pairs as JSONL: {"prediction": "…", "reference": "…" | ["…", …]} per line,
 * the input of `lora-bench rouge`.
 */
import { readFileSync } from "node:fs";
import { fsError, UserError } from "../errors.ts";
import type { RougePair } from "./rouge.ts";

function typeName(v: unknown): string {
  return v === null ? "null" : Array.isArray(v) ? "array" : typeof v;
}

/** Parse one JSONL line into a pair, or throw a UserError naming `file:line`. */
function parsePair(text: string, where: string): RougePair {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new UserError(`not valid JSON (${(err as Error).message})`, where);
  }
  if (typeName(v) !== "object") {
    throw new UserError(`expected an object with "prediction" and "reference", got ${typeName(v)}`, where);
  }
  const o = v as Record<string, unknown>;
  for (const k of ["prediction", "reference"])
    if (!(k in o)) throw new UserError(`missing field "${k}"`, where);
  if (typeof o.prediction !== "string") {
    throw new UserError(`"prediction" must be a string, got ${typeName(o.prediction)}`, where);
  }
  const ref = o.reference;
  const ok =
    typeof ref === "string" ||
    (Array.isArray(ref) && ref.length > 0 && ref.every((r) => typeof r === "string"));
  if (!ok) {
    throw new UserError(
      `"reference" must be a string or a non-empty array of strings, got ${typeName(ref)}`,
      where,
    );
  }
  return { prediction: o.prediction, reference: ref as string | string[] };
}

/** Read a pairs JSONL file. Trailing blank lines are allowed; a blank line between pairs is not. */
export function readPairs(path: string): RougePair[] {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw fsError(err, path);
  }
  const lines = text.replace(/^\uFEFF/, "").split("\n"); // tolerate a byte-order mark
  let last = lines.length;
  while (last > 0 && lines[last - 1].trim() === "") last--;
  if (last === 0) throw new UserError("no pairs (the file is empty)", path);
  const pairs: RougePair[] = [];
  for (let i = 0; i < last; i++) {
    const where = `${path}:${i + 1}`;
    if (lines[i].trim() === "") throw new UserError("blank line between pairs", where);
    pairs.push(parsePair(lines[i], where));
  }
  return pairs;
}
