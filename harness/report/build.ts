/**
 * Assemble the schema'd report from a finished run: provenance, per-arm metrics (mean and 95%
 * bootstrap CI over examples pooled across seeds, per-seed means), diagnostics, claims, timings.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { ortVersion, resolveThreads } from "../engine/session.ts";
import { adapterLine, describeAdapter } from "../engine/webgpu.ts";
import { mean } from "../metrics/aggregate.ts";
import { continuationBias } from "../metrics/continuation.ts";
import { bootstrapMeanCI } from "../metrics/paired.ts";
import { ROUGE_TYPES } from "../metrics/rouge.ts";
import { rngStream } from "../rng.ts";
import type { UnitResult } from "../study/cache.ts";
import type { ClaimRecord } from "../study/claim-kinds.ts";
import type { StudyRun } from "../study/runner.ts";
import type { Metric } from "../study/verdict.ts";
import type { Arm, ArmMetrics, Claim, Report } from "./types.ts";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

export function gitInfo(cwd = ROOT): { commit: string | null; dirty: boolean | null } {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return { commit, dirty: status.trim().length > 0 };
  } catch {
    return { commit: null, dirty: null };
  }
}

function gpuName(device: string): string | null {
  if (device === "webgpu") return adapterLine(describeAdapter());
  if (device !== "cuda") return null;
  try {
    return execFileSync("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { encoding: "utf8" })
      .trim()
      .split("\n")[0];
  } catch {
    return "unknown CUDA device";
  }
}

/** Mean, 95% CI over examples (seeds averaged within each example) and per-seed means. */
function metricSummary(perSeed: number[][], seed: string, resamples: number) {
  const n = perSeed[0].length;
  const perExample = Array.from({ length: n }, (_, i) => mean(perSeed.map((s) => s[i])));
  const ci = bootstrapMeanCI(perExample, rngStream(seed, "report/metric-ci"), resamples);
  return { mean: mean(perExample), low: ci.low, high: ci.high, per_seed: perSeed.map((s) => mean(s)) };
}

export function buildReport(run: StudyRun, claims: ClaimRecord[], totalS: number, createdAt: string): Report {
  const { ctx, units, results, study } = run;
  const p = ctx.profile;
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string };
  const arms: Arm[] = study.arms.map((a) => {
    const armUnits = units.filter((u) => u.arm.id === a.id && results.has(u.key));
    const res = armUnits.map((u) => [u, results.get(u.key)!] as const);
    const ok = a.runs.filter((r) => r.status === "ok" && r.scores);
    const metric = (m: Metric) =>
      metricSummary(
        ok.map((r) => r.scores![m]),
        `${a.id}/${m}`,
        p.rouge.bootstrapResamples,
      );
    const okResults = res.filter(([, r]) => r.status === "ok").map(([, r]) => r);
    return {
      id: a.id,
      label: a.label,
      kind: a.kind,
      lora:
        a.kind === "lora"
          ? {
              r: a.r!,
              alpha: a.alpha!,
              dropout: p.lora.dropout,
              target_modules: [...p.lora.targetModules],
              use_rslora: a.useRslora,
            }
          : null,
      quantization: a.quantization
        ? {
            type: a.quantization.type,
            block_size: a.quantization.blockSize,
            double_quant: a.quantization.doubleQuant,
          }
        : null,
      train_n: a.trainN,
      trainable_params: a.trainableParams,
      total_params: study.model.params,
      seeds: res.map(([u, r]) => {
        const run = a.runs.find((x) => x.seed === u.seed)!;
        return {
          seed: u.seed,
          status: r.status,
          cache_key: u.key,
          error: r.error,
          metrics: run.scores
            ? (Object.fromEntries(ROUGE_TYPES.map((m) => [m, mean(run.scores![m])])) as Record<
                Metric,
                number
              >)
            : null,
          continuation_rate: run.continued ? mean(run.continued.map((c) => (c ? 1 : 0))) : null,
          train: r.train
            ? { steps: r.train.steps, final_loss: r.train.finalLoss, seconds: r.train.seconds }
            : null,
          eval_seconds: r.evalSeconds,
        };
      }),
      // No successful seed: no numbers to show (the seeds' errors say why).
      metrics: ok.length
        ? (Object.fromEntries(ROUGE_TYPES.map((m) => [m, metric(m)])) as unknown as ArmMetrics)
        : null,
      diagnostics: okResults.length ? diagnostics(run, okResults) : null,
    };
  });
  const claimList: Claim[] = claims.map((c) => ({
    id: c.id,
    name: c.name,
    spec: c.spec,
    verdict: c.verdict,
    kind: c.kind,
    metric: c.metric,
    arms: c.arms,
    study: c.study,
    evidence: c.evidence,
  }));
  const mainTrain = ctx.trainSubset(p.data.trainN);
  const timings: Record<string, number> = {};
  for (const a of arms) timings[a.id] = round(run.spent.get(a.id) ?? 0);
  const phases: NonNullable<Report["timings"]["phases"]> = {};
  for (const a of arms) {
    const ph = units.filter((u) => u.arm.id === a.id).map((u) => results.get(u.key)?.phases)[0];
    if (!ph) continue;
    const fig = (f: { seconds: number; peakRssBytes: number } | null) =>
      f && { seconds: round(f.seconds), peak_rss_bytes: f.peakRssBytes };
    phases[a.id] = { train: fig(ph.train), decode: fig(ph.decode) };
  }
  return {
    schema_version: 1,
    profile: p.name,
    created_at: createdAt,
    provenance: {
      git: gitInfo(),
      versions: {
        lora_bench: pkg.version,
        engine: ctx.engine,
        node: process.version,
        onnxruntime: ortVersion(),
      },
      host: {
        os: `${os.platform()} ${os.release()} ${os.arch()}`,
        cpu: os.cpus()[0]?.model ?? "unknown",
        cores: os.cpus().length,
        memory_bytes: os.totalmem(),
        gpu: gpuName(p.device),
      },
      device: p.device,
      threads: resolveThreads(p.threads),
      ...(ctx.memory ? { memory: ctx.memory } : {}),
      model: {
        id: ctx.modelId,
        revision: ctx.modelRevision,
        sha256: ctx.modelSha,
        params: study.model.params,
      },
      dataset: {
        id: ctx.datasetId,
        revision: ctx.datasetRevision,
        train: {
          split: p.dataset.trainSplit,
          n: mainTrain.ids.length,
          sha256: mainTrain.sha256,
          ids: mainTrain.ids,
        },
        eval: {
          split: p.dataset.evalSplit,
          n: ctx.evalSubset.ids.length,
          sha256: ctx.evalSubset.sha256,
          ids: ctx.evalSubset.ids,
        },
      },
      prompt: {
        template: "chat",
        instruction: p.prompt.instruction,
        article_token_budget: p.prompt.articleTokenBudget,
        truncated_examples: ctx.evalPrompts.filter((q) => q.truncatedTokens > 0).length,
      },
      rouge: {
        use_stemmer: p.rouge.useStemmer,
        headline: "mean",
        bootstrap_resamples: p.rouge.bootstrapResamples,
        note: "Headline = plain mean of per-example F-measure (rouge_score parity). evaluate's default use_aggregator=True reports a bootstrap median drawn from numpy's global RNG; it differs from the mean only by that resampling.",
      },
      config: { profile: p.name, ...(p as unknown as Record<string, unknown>) },
    },
    arms,
    claims: claimList,
    timings: { total_s: round(totalS), arms: timings, phases },
  };
}

function diagnostics(run: StudyRun, ok: UnitResult[]) {
  const { ctx } = run;
  const reps = ok.map((r) =>
    continuationBias(
      r.predictions.map((pr, i) => ({
        prediction: pr,
        article: ctx.evalSeen[i],
        instruction: ctx.profile.prompt.instruction,
      })),
    ),
  );
  const novel = reps.flatMap((c) => c.examples.map((e) => e.novel2)).filter((x): x is number => x !== null);
  return {
    continuation_rate: mean(reps.map((c) => c.rate)),
    mean_output_tokens: mean(ok.map((r) => mean(r.outputTokens))),
    empty_rate: mean(reps.map((c) => c.emptyRate)),
    novel_bigram_ratio: novel.length ? mean(novel) : null,
  };
}

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
