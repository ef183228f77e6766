import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { exportPerf } from "../../engine/export-perf.ts";
import { defaultBudget, parseBytes } from "../../engine/memory.ts";
import { enginePerf, gemmaStepPerf, QUICK_SHAPES, studyPerf, TINYLLAMA_SHAPES } from "../../engine/perf.ts";
import { quantPerf } from "../../engine/quant/perf.ts";
import { parseDevice } from "../../engine/session.ts";
import { UserError } from "../../errors.ts";
import { writeFileAtomic } from "../../fsutil.ts";
import { rougePerf } from "../../metrics/perf.ts";
import { type PerfFigures, updateReadmePerf } from "../../report/perf-figures.ts";
import { loadConfig } from "../../study/config.ts";
import { DEVICE_FLAG, defineCommand } from "../command.ts";
import { parseNumber } from "../flags.ts";

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
    "study-only": {
      type: "boolean",
      help: "only the study step (the tinyllama profile's training shapes, planned for the budget), as JSON on stdout",
    },
    "quant-only": {
      type: "boolean",
      help: "only the 4-bit figures, as JSON on stdout (the full run measures them this way, in a fresh process)",
    },
    "export-only": {
      type: "boolean",
      help: "only the export's decode figures (transformers.js on the fp32 export beside the engine), as JSON on stdout",
    },
    "export-layers": {
      type: "string",
      arg: "N",
      help: "decoder layers of the model the export figures use (default: all of the shapes')",
    },
    "gemma-only": {
      type: "boolean",
      help: "only the LoRA step at Gemma-2B's shapes (2 of its 18 layers), as JSON on stdout (the full run measures it this way, in a fresh process)",
    },
    ...DEVICE_FLAG,
  },
  async run({ values }) {
    const quick = values.quick ?? false;
    const out = values.out ?? "reports/perf.json";
    const log = (m: string) => process.stderr.write(`${m}\n`);
    const device = parseDevice(values.device);
    const shapes = {
      config: quick ? QUICK_SHAPES : TINYLLAMA_SHAPES,
      seqLen: quick ? 128 : 512,
      trainSteps: quick ? 1 : 2,
      decodeSteps: quick ? 4 : 16,
      device,
      log,
    };
    const exportLayers = parseNumber(values["export-layers"], "export-layers", shapes.config.numLayers);
    if (!Number.isInteger(exportLayers) || exportLayers < 1)
      throw new UserError("--export-layers must be a positive integer");
    if (values["export-only"]) {
      const config = { ...shapes.config, numLayers: exportLayers };
      process.stdout.write(
        `${JSON.stringify(await exportPerf({ ...shapes, config, decodeSteps: shapes.decodeSteps }))}\n`,
      );
      return 0;
    }
    if (values["quant-only"]) {
      process.stdout.write(`${JSON.stringify(await quantPerf(shapes))}\n`);
      return 0;
    }
    if (values["gemma-only"]) {
      const g = { layers: quick ? 1 : 2, seqLen: quick ? 64 : 512, trainSteps: quick ? 1 : 2, device, log };
      process.stdout.write(`${JSON.stringify(await gemmaStepPerf(g))}\n`);
      return 0;
    }
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
    if (values["study-only"]) {
      process.stdout.write(`${JSON.stringify(await studyPerf({ ...shapes, study }))}\n`);
      return 0;
    }
    const engine = await enginePerf({ ...shapes, study, decodeBatch: quick ? 2 : 8 });
    const quant = quantFigures(quick, values.device, engine.decode.tokens_per_s, engine.train.tokens_per_s);
    const exported = childFigures(
      ["--export-only", "--export-layers", `${exportLayers}`],
      quick,
      values.device,
    );
    const gemma = childFigures(["--gemma-only"], quick, values.device);
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
      quant,
      export: exported,
      gemma_2b: gemma,
      rouge,
    };
    writeFileAtomic(out, `${JSON.stringify(report, null, 2)}\n`);
    // The README quotes the full CPU benchmark: keep its figures in step with the file they come from.
    if (
      resolve(out) === resolve("reports/perf.json") &&
      !quick &&
      report.device === "cpu" &&
      existsSync("README.md")
    )
      updateReadmePerf("README.md", report as unknown as PerfFigures);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  },
});

/**
 * The 4-bit figures from a child process, so its peak RSS is the 4-bit model's own (this process
 * already held the fp32 weights), with the ratios to this run's fp32 figures.
 */
function quantFigures(quick: boolean, device: string | undefined, fp32Decode: number, fp32Train: number) {
  const q = childFigures(["--quant-only"], quick, device);
  return {
    ...q,
    decode_tokens_per_s_fp32: fp32Decode,
    nf4: {
      ...q.nf4,
      train_tokens_per_s_fp32: fp32Train,
      train_over_fp32: ratio(q.nf4.train_tokens_per_s, fp32Train),
      decode_over_fp32: ratio(q.nf4.decode_tokens_per_s, fp32Decode),
    },
    int4: { ...q.int4, decode_over_fp32: ratio(q.int4.decode_tokens_per_s, fp32Decode) },
  };
}

/** One part of the benchmark (`perf <flags>`) in a child process: its memory is its own. */
function childFigures(flags: string[], quick: boolean, device: string | undefined) {
  const args = [process.argv[1], "perf", ...flags, ...(quick ? ["--quick"] : [])];
  if (device) args.push("--device", device);
  const r = spawnSync(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"], encoding: "utf8" });
  if (r.status !== 0) throw new Error(`perf: ${flags[0]} exited with ${r.status}`);
  return JSON.parse(r.stdout);
}
const ratio = (x: number, fp32: number) => Math.round((x / fp32) * 1000) / 1000;
