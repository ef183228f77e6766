/**
 * `lora-bench perf [--quick] [--out reports/perf.json]` — the engine benchmark (TinyLlama's shapes,
 * random weights) plus ROUGE scoring throughput. Figures go to a JSON file; nothing is asserted.
 */
import { parseFlags } from "../../args.ts";
import { writeFileAtomic } from "../../fsutil.ts";
import { rougePerf } from "../../metrics/perf.ts";
import { enginePerf, QUICK_SHAPES, TINYLLAMA_SHAPES } from "../perf.ts";

export async function run(argv: string[]): Promise<number> {
  const { values } = parseFlags(argv, { quick: { type: "boolean" }, out: { type: "string" } }, "perf");
  const quick = values.quick ?? false;
  const out = values.out ?? "reports/perf.json";
  const log = (m: string) => process.stderr.write(`${m}\n`);
  const engine = await enginePerf({
    config: quick ? QUICK_SHAPES : TINYLLAMA_SHAPES,
    seqLen: quick ? 128 : 512,
    trainSteps: quick ? 1 : 2,
    decodeSteps: quick ? 4 : 16,
    decodeBatch: quick ? 2 : 8,
    log,
  });
  log("ROUGE scoring throughput…");
  const rouge = rougePerf({ pairs: quick ? 500 : 10_000 });
  const report = {
    generated_by: "lora-bench perf",
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
}
