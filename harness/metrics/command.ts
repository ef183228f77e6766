/**
 * `lora-bench rouge --input pairs.jsonl [--stem] [--json] [--seed N] [--numpy-seed S]`
 *
 * Each input line: {"prediction": "…", "reference": "…" | ["…", …]}. Prints one JSON object:
 * {"pairs": [per-pair rouge1/rouge2/rougeL/rougeLsum precision/recall/fmeasure, in input order],
 *  "aggregate": {type: {mean, low, mid, high}}} over fmeasure. Pretty-printed by default, one line
 * with --json. --numpy-seed S takes low/mid/high from numpy's legacy RNG seeded with S, i.e. exactly
 * what `evaluate.load("rouge", seed=S)` reports as the aggregated (mid) value.
 */
import { readFileSync } from "node:fs";
import { parseFlags, parseNumber } from "../args.ts";
import { fsError, UserError } from "../errors.ts";
import { aggregateRouge, type Interval } from "./aggregate.ts";
import { evaluateAggregate } from "./numpy.ts";
import { type RougePair, type RougeType, rougeScore } from "./rouge.ts";

const USAGE = `usage: lora-bench rouge --input pairs.jsonl [--stem] [--json] [--seed N] [--resamples N] [--numpy-seed S]

Scores each {"prediction", "reference"} line with rouge_score semantics (reference may be a list:
best per rouge type by fmeasure) and prints {"pairs": […], "aggregate": {…}} as JSON.
  --stem          Porter-stem tokens longer than 3 characters (evaluate's use_stemmer)
  --json          compact one-line JSON (default: indented)
  --seed N        seed of the bootstrap stream (default 0)
  --resamples N   bootstrap resamples (default 1000)
  --numpy-seed S  bootstrap with numpy's legacy RNG seeded S, reproducing evaluate's aggregate
`;

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

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(
    argv,
    {
      input: { type: "string" },
      stem: { type: "boolean" },
      json: { type: "boolean" },
      seed: { type: "string" },
      resamples: { type: "string" },
      "numpy-seed": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
    "rouge",
  );
  if (values.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (!values.input) throw new UserError("rouge: missing required flag --input (try --help)");
  const resamples = parseNumber(values.resamples, "resamples", 1000);
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new UserError(`--resamples: must be a positive integer`);
  const seed = parseNumber(values.seed, "seed", 0);
  const numpySeed =
    values["numpy-seed"] === undefined ? undefined : parseNumber(values["numpy-seed"], "numpy-seed");
  if (numpySeed !== undefined && !(Number.isInteger(numpySeed) && numpySeed >= 0 && numpySeed < 2 ** 32)) {
    throw new UserError("--numpy-seed: must be an integer in [0, 2^32)");
  }

  const pairs = readPairs(values.input);
  const scores = pairs.map((p) => rougeScore(p.reference, p.prediction, { stem: values.stem ?? false }));
  const aggregate: Record<RougeType, Interval> = aggregateRouge(scores, { seed, resamples });
  if (numpySeed !== undefined) {
    const np = evaluateAggregate(scores, numpySeed, resamples);
    for (const k of Object.keys(aggregate) as RougeType[])
      aggregate[k] = { mean: aggregate[k].mean, ...np[k] };
  }
  const out = { pairs: scores, aggregate };
  process.stdout.write(`${values.json ? JSON.stringify(out) : JSON.stringify(out, null, 2)}\n`);
  return 0;
}
