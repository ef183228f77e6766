import { enginePerf, QUICK_SHAPES, TINYLLAMA_SHAPES } from "../../engine/perf.ts";
import { parseDevice } from "../../engine/session.ts";
import { writeFileAtomic } from "../../fsutil.ts";
import { rougePerf } from "../../metrics/perf.ts";
import { DEVICE_FLAG, defineCommand } from "../command.ts";

export default defineCommand({
  name: "perf",
  description:
    "The engine benchmark (TinyLlama's shapes, random weights) plus ROUGE scoring throughput. Figures go\n" +
    "to a JSON file and stdout; nothing is asserted.",
  flags: {
    quick: { type: "boolean", help: "small shapes (4 layers, hidden 512): a smoke run" },
    out: { type: "string", arg: "FILE", help: "where to write the figures (default reports/perf.json)" },
    ...DEVICE_FLAG,
  },
  async run({ values }) {
    const quick = values.quick ?? false;
    const out = values.out ?? "reports/perf.json";
    const log = (m: string) => process.stderr.write(`${m}\n`);
    const engine = await enginePerf({
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
