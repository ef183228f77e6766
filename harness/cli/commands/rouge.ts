import { UserError } from "../../errors.ts";
import { aggregateRouge, type Interval } from "../../metrics/aggregate.ts";
import { evaluateAggregate } from "../../metrics/numpy.ts";
import { readPairs } from "../../metrics/pairs.ts";
import { type RougeType, rougeScore } from "../../metrics/rouge.ts";
import { defineCommand, JSON_FLAG } from "../command.ts";
import { parseNumber } from "../flags.ts";

export default defineCommand({
  name: "rouge",
  description:
    'Scores each {"prediction", "reference"} line with rouge_score semantics (a reference may be a list:\n' +
    'best per rouge type by fmeasure) and prints {"pairs": […], "aggregate": {type: {mean, low, mid, high}}}\n' +
    "as JSON (per-pair precision/recall/fmeasure in input order; the aggregate is over fmeasure).",
  flags: {
    input: { type: "string", arg: "pairs.jsonl", help: "prediction/reference pairs", required: true },
    stem: { type: "boolean", help: "Porter-stem tokens longer than 3 characters (evaluate's use_stemmer)" },
    json: { ...JSON_FLAG.json, help: "compact one-line JSON (default: indented)" },
    seed: { type: "string", arg: "N", help: "seed of the bootstrap stream (default 0)" },
    resamples: { type: "string", arg: "N", help: "bootstrap resamples (default 1000)" },
    "numpy-seed": {
      type: "string",
      arg: "S",
      help: "bootstrap with numpy's legacy RNG seeded S, reproducing evaluate's aggregate",
    },
  },
  async run({ values }) {
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
  },
});
