/**
 * One (arm, seed) run: fine-tune a fresh adapter on the arm's N examples (LoRA arms), generate
 * greedy summaries for the evaluation prompts, score them. A diverged run is recorded as failed with
 * its step and reason; the other arms go on.
 */
import { turnEndIds } from "../data/tokenizer.ts";
import { saveAdapter } from "../engine/adapter-io.ts";
import { loraShapes } from "../engine/architecture.ts";
import { generate } from "../engine/generate.ts";
import { initLora, type LoraSettings } from "../engine/lora.ts";
import type { LlamaModel, LoraTensors } from "../engine/model.ts";
import { TrainingDiverged, train } from "../engine/train.ts";
import { ROUGE_TYPES, rougeScore } from "../metrics/rouge.ts";
import type { TrainRecord, UnitResult } from "./cache.ts";
import type { StudyContext, Unit } from "./plan.ts";

export interface ArmProgress {
  phase: "train" | "generate";
  done: number;
  total: number;
  loss?: number;
  tokensPerS?: number;
  etaS?: number;
}

export function loraSettings(ctx: StudyContext, unit: Unit): LoraSettings {
  return {
    r: unit.arm.r!,
    alpha: unit.arm.alpha!,
    dropout: ctx.profile.lora.dropout,
    targetModules: ctx.profile.lora.targetModules,
    useRslora: unit.arm.useRslora,
  };
}

/** The model's greedy summaries (predictions) of every evaluation prompt, in batches (each step streams every weight once). */
export async function generatePredictions(
  ctx: StudyContext,
  model: LlamaModel,
  lora: LoraTensors | undefined,
  onProgress: (p: ArmProgress) => void,
): Promise<{ texts: string[]; tokens: number[] }> {
  const { maxNewTokens } = ctx.profile.decoding;
  // The memory plan may decode fewer prompts at once than the profile asks, never more.
  const batchSize = ctx.memory?.decode.batch ?? ctx.profile.decoding.batchSize;
  const prompts = ctx.evalPrompts.map((p) => p.promptIds);
  const eos = ctx.modelConfig.eosTokenId;
  // The model's EOS, and the chat template's turn end when that is another token (Gemma's <end_of_turn>).
  const eosIds = [
    ...(eos === undefined ? [ctx.tok.eosId] : Array.isArray(eos) ? eos : [eos]),
    ...turnEndIds(ctx.tok),
  ];
  const texts: string[] = [];
  const tokens: number[] = [];
  const t0 = performance.now();
  // Similar lengths together waste less padding; results go back in eval order.
  const order = prompts.map((_, i) => i).sort((a, b) => prompts[a].length - prompts[b].length || a - b);
  const outputs = new Array<number[]>(prompts.length);
  for (let s = 0; s < order.length; s += batchSize) {
    const idx = order.slice(s, s + batchSize);
    const out = await generate(
      model,
      idx.map((i) => prompts[i]),
      { maxNewTokens, eosTokenIds: eosIds, padTokenId: ctx.tok.padId, lora },
    );
    idx.forEach((i, k) => {
      outputs[i] = out[k];
    });
    const done = Math.min(s + batchSize, order.length);
    const el = (performance.now() - t0) / 1000;
    onProgress({ phase: "generate", done, total: order.length, etaS: (el / done) * (order.length - done) });
  }
  for (const out of outputs) {
    const body = out.filter((t) => !eosIds.includes(t));
    tokens.push(body.length);
    texts.push(ctx.tok.decode(body, { skipSpecialTokens: true }).trim());
  }
  return { texts, tokens };
}

export function scorePredictions(ctx: StudyContext, predictions: string[]): Record<string, number[]> {
  const scores: Record<string, number[]> = Object.fromEntries(ROUGE_TYPES.map((m) => [m, []]));
  ctx.evalSubset.records.forEach((r, i) => {
    const s = rougeScore(r.highlights, predictions[i], { stem: ctx.profile.rouge.useStemmer });
    for (const k of Object.keys(scores)) scores[k].push(s[k as keyof typeof s].fmeasure);
  });
  return scores;
}

/** What training left for the decode phase: the adapter (LoRA arms), its record, or a failed result. */
export interface TrainedUnit {
  unit: Unit;
  lora?: LoraTensors;
  train: TrainRecord | null;
  adapter?: (dir: string) => void;
  /** Set when training diverged: the unit's final result, with nothing to decode. */
  failed?: UnitResult;
}

function resultBase(ctx: StudyContext, unit: Unit) {
  return {
    key: unit.key,
    armId: unit.arm.id,
    seed: unit.seed,
    evalIds: ctx.evalSubset.ids,
    engine: ctx.engine,
    ...ctx.runtime,
    modelSha: ctx.modelSha,
  };
}

/** The training phase of one unit (nothing for the base arm). */
export async function trainUnit(
  ctx: StudyContext,
  model: LlamaModel,
  unit: Unit,
  onProgress: (p: ArmProgress) => void,
): Promise<TrainedUnit> {
  if (unit.arm.kind !== "lora") return { unit, train: null };
  const settings = loraSettings(ctx, unit);
  const lora = initLora(ctx.modelConfig, settings, unit.seed);
  const t = ctx.profile.training;
  let trainRec: TrainRecord;
  try {
    const res = await train(
      model,
      ctx.trainingExamples(unit.arm.trainN),
      {
        epochs: t.epochs,
        lr: t.lr,
        batchSize: t.batchSize,
        gradAccum: t.gradAccum,
        weightDecay: t.weightDecay,
        warmupRatio: t.warmupRatio,
        maxGradNorm: t.maxGradNorm,
        seed: unit.seed,
        dropout: settings.dropout,
        ...ctx.trainMemory,
        onStep: (s) =>
          onProgress({
            phase: "train",
            done: s.step,
            total: s.totalSteps,
            loss: s.loss,
            tokensPerS: s.tokensPerS,
            etaS: s.etaS,
          }),
      },
      lora,
    );
    trainRec = {
      steps: res.steps,
      finalLoss: res.curve.at(-1)?.loss ?? Number.NaN,
      seconds: res.seconds,
      curve: res.curve,
    };
  } catch (err) {
    if (!(err instanceof TrainingDiverged)) throw err;
    const failed: UnitResult = {
      ...resultBase(ctx, unit),
      status: "failed",
      error: { step: err.step, reason: err.reason },
      predictions: [],
      outputTokens: [],
      scores: null,
      train: null,
      evalSeconds: 0,
      finishedAt: new Date().toISOString(),
    };
    return { unit, train: null, failed };
  }
  const shapes = new Map(loraShapes(ctx.modelConfig, settings).map(({ key, shape }) => [key, shape]));
  const tensors = lora.tensors as Map<string, Float32Array>;
  const adapter = (dir: string) =>
    saveAdapter(
      `${dir}/adapter`,
      { ...settings, bias: "none", fanInFanOut: false },
      tensors,
      shapes,
      ctx.modelId,
    );
  return { unit, lora, train: trainRec, adapter };
}

/** The decoding phase of one trained (or base) unit: predictions, scores, the finished result. */
export async function evaluateUnit(
  ctx: StudyContext,
  model: LlamaModel,
  trained: TrainedUnit,
  onProgress: (p: ArmProgress) => void,
): Promise<{ result: UnitResult; adapter?: (dir: string) => void }> {
  if (trained.failed) return { result: trained.failed };
  const t0 = performance.now();
  const { texts, tokens } = await generatePredictions(ctx, model, trained.lora, onProgress);
  return {
    result: {
      ...resultBase(ctx, trained.unit),
      status: "ok",
      error: null,
      predictions: texts,
      outputTokens: tokens,
      scores: scorePredictions(ctx, texts),
      train: trained.train,
      evalSeconds: (performance.now() - t0) / 1000,
      finishedAt: new Date().toISOString(),
    },
    adapter: trained.adapter,
  };
}

/** Train, then decode, one unit (the runner does the two phases arm by arm instead). */
export async function runUnit(
  ctx: StudyContext,
  model: LlamaModel,
  unit: Unit,
  onProgress: (p: ArmProgress) => void,
): Promise<{ result: UnitResult; adapter?: (dir: string) => void }> {
  return evaluateUnit(ctx, model, await trainUnit(ctx, model, unit, onProgress), onProgress);
}
