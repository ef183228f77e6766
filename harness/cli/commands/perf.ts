import { defaultBudget, parseBytes } from "../../engine/memory.ts";
import { enginePerf, QUICK_SHAPES, TINYLLAMA_SHAPES } from "../../engine/perf.ts";
import { parseDevice } from "../../engine/session.ts";
import { UserError } from "../../errors.ts";
import { writeFileAtomic } from "../../fsutil.ts";
import { rougePerf } from "../../metrics/perf.ts";
import { loadConfig } from "../../study/config.ts";
import { DEVICE_FLAG, defineCommand } from "../command.ts";

export default defineCommand({
  name: "perf",
  description:
    "The engine benchmark (TinyLlama's shapes, random weights) plus ROUGE scoring throughput. Figures go\n" +
    "to a JSON file and stdout; nothing is asserted.",
  flags: {
    quick: { type: "boolean", help: "small shapes (4 layers, hidden 512): a smoke run" },
    out: { type: "string", arg: "FILE", help: "where to write the figures (default reports/perf.json)" },
    "memory-budget": {
      type: "string",
      arg: "SIZE",
      help: "budget the study step is planned for, e.g. 15GiB (default: 15 GiB on a GPU, 80% of RAM on the CPU)",
    },
    ...DEVICE_FLAG,
  },
  async run({ values }) {
    const quick = values.quick ?? false;
    const out = values.out ?? "reports/perf.json";
    const log = (m: string) => process.stderr.write(`${m}\n`);
    const device = parseDevice(values.device);
    const budgetText = values["memory-budget"];
    const budgetBytes = budgetText === undefined ? defaultBudget(device) : parseBytes(budgetText);
    if (budgetBytes === undefined)
      throw new UserError(`--memory-budget: "${budgetText}" is not a size (e.g. 15GiB)`);
    // The study step runs at the tinyllama profile's own training shapes.
    const profile = (await loadConfig()).config.profiles.tinyllama;
    if (!profile)
      throw new UserError("bench.config.ts has no tinyllama profile to take the study step's shapes from");
    const study = {
      batch: quick ? 2 : profile.training.batchSize,
      promptTokens: quick ? 96 : profile.prompt.articleTokenBudget,
      targetTokens: quick ? 32 : profile.prompt.maxTargetTokens,
      dropout: profile.lora.dropout,
      budgetBytes,
    };
    const engine = await enginePerf({
      study,
      config: quick ? QUICK_SHAPES : TINYLLAMA_SHAPES,
      seqLen: quick ? 128 : 512,
      trainSteps: quick ? 1 : 2,
      decodeSteps: quick ? 4 : 16,
      decodeBatch: quick ? 2 : 8,
      device: parseDevice(values.device),
      log,
    });
    log("ROUGE scoring throughput…");
    const rouge = rougePerf({ pairs: quick ? 500 : 10_000 });
    const report = {
      generated_by: "lora-bench perf",
      device: parseDevice(values.device),
      shapes: quick
        ? "quick (4 layers, hidden 512)"
        : "TinyLlama-1.1B (22 layers, hidden 2048, GQA 32/4, vocab 32000)",
      created_at: new Date().toISOString(),
      ...engine,
      rouge,
    };
    writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  },
});
