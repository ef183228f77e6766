/**
 * The study's own training step as a benchmark: the profile's batch of rows of article budget + target
 * length, the loss on the target only, LoRA dropout on, run with the micro-batch and recomputation the
 * memory planner picks for the budget. Reports the measured peak RSS next to the planned peak.
 * Run it first in a process: peak RSS is the process's high-water mark.
 */
import { UserError } from "../errors.ts";
import { rngStream } from "../rng.ts";
import { initLora } from "./lora.ts";
import { planTraining } from "./memory.ts";
import type { LlamaModel } from "./model.ts";
import { accumulateGradients } from "./train.ts";

export interface StudyStepOptions {
  batch: number;
  /** Prompt (article budget) and target tokens per row: rows are their sum long. */
  promptTokens: number;
  targetTokens: number;
  dropout: number;
  budgetBytes: number;
  log?: (msg: string) => void;
}

export async function studyStepPerf(model: LlamaModel, o: StudyStepOptions) {
  const c = model.config;
  const seqLen = o.promptTokens + o.targetTokens;
  const targets = ["q_proj", "v_proj"];
  const planned = planTraining({
    config: c,
    batch: o.batch,
    seqLen,
    labelsPerRow: o.targetTokens,
    lora: { r: 8, targets, dropout: o.dropout > 0 },
    weightBytes: model.storage === "float16" ? 2 : 4,
    budgetBytes: o.budgetBytes,
  });
  if (!planned.fits)
    throw new UserError(
      `memory budget ${o.budgetBytes} bytes is too small for the study step: it needs at least ${planned.minimumBytes}`,
    );
  const plan = planned.plan;
  const lora = initLora(
    c,
    { r: 8, alpha: 16, dropout: o.dropout, targetModules: targets, useRslora: false },
    0,
  );
  for (const [k, v] of lora.tensors) if (k.includes("lora_B")) v.fill(0.01);
  const rows = Array.from({ length: o.batch }, (_, r) => {
    const ids = Array.from({ length: seqLen }, (_, t) => 1 + ((t * 7919 + r * 104729) % (c.vocabSize - 1)));
    return { inputIds: ids, labels: ids.map((x, t) => (t >= o.promptTokens ? x : -100)) };
  });
  const step = (examples: typeof rows) =>
    accumulateGradients(model, examples, o.batch * o.targetTokens, new Map(), {
      lora,
      microBatch: plan.microBatch,
      checkpointing: plan.checkpointing,
      dropout: {
        p: o.dropout,
        streams: examples.map((_, i) => rngStream(0, "dropout").child(`example-${i}`)),
      },
    });
  // Build the session on a short row first, so the timed step is the step alone.
  await step([{ inputIds: rows[0].inputIds.slice(0, 8), labels: rows[0].labels.slice(-8) }]);
  o.log?.(
    `study step: ${o.batch} × ${seqLen} tokens, micro-batch ${plan.microBatch}, recomputation ${plan.checkpointing ? "on" : "off"}…`,
  );
  const t0 = performance.now();
  await step(rows);
  const seconds = (performance.now() - t0) / 1000;
  await model.release("loss");
  const peak = process.resourceUsage().maxRSS * 1024;
  return {
    batch: o.batch,
    seq_len: seqLen,
    micro_batch: plan.microBatch,
    checkpointing: plan.checkpointing,
    peak_rss_bytes: peak,
    planned_peak_bytes: plan.peakBytes,
    tokens_per_s: Math.round(((o.batch * seqLen) / seconds) * 100) / 100,
    budget_bytes: o.budgetBytes,
    estimate_error: Math.round(((plan.peakBytes - peak) / peak) * 1000) / 1000,
  };
}
