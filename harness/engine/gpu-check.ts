/**
 * `lora-bench gpu-check`: the first-run checks of first-run.ts (placement, numerics against the CPU
 * provider) plus what a user of a new adapter asks next: which adapter, whether greedy decoding gives
 * the CPU's tokens, how many bytes a decode step moves, tokens/s and peak RSS. Every figure is measured
 * on the given checkpoint; a check passes or fails against the bound it states.
 */
import type { Checkpoint } from "./checkpoint.ts";
import { numericsCheck, placementCheck } from "./first-run.ts";
import { generate } from "./generate.ts";
import { LlamaModel } from "./model.ts";
import type { Device } from "./session.ts";
import { type AdapterDescription, describeAdapter } from "./webgpu.ts";

export interface CheckResult {
  name: string;
  pass: boolean;
  /** What was measured, and the bound it was held to. */
  detail: string;
}

export interface GpuCheckReport {
  device: Device;
  adapter: AdapterDescription | null;
  checks: CheckResult[];
  /** Product, softmax or float nodes each graph kind left on the CPU (empty when all are on the device). */
  cpu_float_nodes: Record<string, string[]>;
  decode_step_bytes: { up: number; down: number };
  tokens_per_s: { device: number; cpu: number };
  peak_rss_bytes: number;
}

/** Greedy prompts inside the vocabulary (3 rows of different lengths). */
function prompts(vocab: number): number[][] {
  const ids = (n: number, k: number) =>
    Array.from({ length: n }, (_, i) => 3 + ((i * 7919 + k * 104729) % (vocab - 3)));
  return [ids(5, 1), ids(3, 2), ids(7, 3)];
}

/** Greedy tokens/s and, for the device, the bytes its last decode step moved. */
async function decode(ckpt: Checkpoint, device: Device) {
  const model = new LlamaModel(ckpt.config, ckpt.weights, { device });
  try {
    const t0 = performance.now();
    const tokens = await generate(model, prompts(ckpt.config.vocabSize), {
      maxNewTokens: 32,
      eosTokenIds: [],
    });
    const tps = (3 * 32) / ((performance.now() - t0) / 1000);
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    return { tokens, tps, bytes: { up: sum(model.lastTransfer.up), down: sum(model.lastTransfer.down) } };
  } finally {
    await model.release();
  }
}

export async function gpuCheck(
  ckpt: Checkpoint,
  device: Exclude<Device, "cpu">,
  opts: { log?: (m: string) => void } = {},
): Promise<GpuCheckReport> {
  const log = opts.log ?? (() => {});
  // fp32 shaders land near 1e-6; CUDA's TF32 (compute capability ≥ 8) moves logits by ~1e-4.
  const tol = device === "cuda" ? 1e-3 : 1e-4;
  const checks: CheckResult[] = [];
  log("placement of the logits, loss and decode graphs…");
  const placed = await placementCheck(ckpt.config, ckpt.weights, device);
  for (const [kind, off] of Object.entries(placed))
    checks.push({
      name: `placement_${kind}`,
      pass: off.length === 0,
      detail: off.length
        ? `${off.length} float node(s) on the CPU, e.g. ${off[0]}`
        : "every float node on the device",
    });
  log("logits, loss and LoRA gradients against the CPU provider…");
  const num = await numericsCheck(ckpt.config, ckpt.weights, device);
  for (const [name, v] of Object.entries(num))
    checks.push({ name, pass: v <= tol, detail: `max |Δ| / max |cpu| ${v.toExponential(2)} (bound ${tol})` });
  log("greedy decoding, 3 prompts × 32 tokens…");
  const gpu = await decode(ckpt, device);
  const cpu = await decode(ckpt, "cpu");
  const differing = gpu.tokens.filter((r, b) => r.some((x, i) => x !== cpu.tokens[b][i])).length;
  checks.push({
    name: "greedy_tokens",
    pass: differing === 0,
    detail: `${differing} of 3 rows differ from the CPU's`,
  });
  return {
    device,
    adapter: device === "webgpu" ? describeAdapter() : null,
    checks,
    cpu_float_nodes: placed,
    decode_step_bytes: gpu.bytes,
    tokens_per_s: { device: gpu.tps, cpu: cpu.tps },
    peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  };
}
