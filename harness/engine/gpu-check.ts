/**
 * The first-run checklist for a GPU device, as one function: which adapter, where the nodes run,
 * numerics against the CPU provider, bytes per decode step, memory and tokens/s. Every figure is
 * measured on the given checkpoint; a check passes or fails against the tolerance it states.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Checkpoint } from "./checkpoint.ts";
import { generate } from "./generate.ts";
import { initLora, type LoraSettings } from "./lora.ts";
import { type FArr, LlamaModel, type LoraTensors } from "./model.ts";
import { describeNodes, readProfiles, summarisePlacement } from "./placement.ts";
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
  placement: Record<string, { nodes: number; fraction_on_device: number; cpu_nodes: string[] }>;
  decode_step_bytes: { up: number; down: number };
  tokens_per_s: { device: number; cpu: number };
  peak_rss_bytes: number;
}

const PROVIDER: Record<string, string> = { webgpu: "WebGpuExecutionProvider", cuda: "CUDAExecutionProvider" };
const SETTINGS: LoraSettings = {
  r: 8,
  alpha: 16,
  targetModules: ["q_proj", "v_proj"],
  dropout: 0,
  useRslora: false,
};

/** max|a − b| / max|b| over all entries: relative to the tensor's scale, robust to entries near zero. */
function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return s === 0 ? d : d / s;
}

/** A LoRA adapter with non-zero B, so that its gradients and its effect on logits are exercised. */
function testAdapter(ckpt: Checkpoint): LoraTensors {
  const lora = initLora(ckpt.config, SETTINGS, "gpu-check");
  for (const [k, v] of lora.tensors)
    if (k.includes("lora_B")) for (let i = 0; i < v.length; i++) v[i] = 0.01 * Math.sin(i + 1);
  return lora;
}

function prompts(vocab: number): number[][] {
  const ids = (n: number, k: number) =>
    Array.from({ length: n }, (_, i) => 3 + ((i * 7919 + k * 104729) % (vocab - 3)));
  return [ids(5, 1), ids(3, 2), ids(7, 3)];
}

export async function gpuCheck(
  ckpt: Checkpoint,
  device: Exclude<Device, "cpu">,
  opts: { tolerance?: number; log?: (m: string) => void } = {},
): Promise<GpuCheckReport> {
  const tol = opts.tolerance ?? 1e-4;
  const log = opts.log ?? (() => {});
  const profileDir = mkdtempSync(join(tmpdir(), "lora-bench-gpu-check-"));
  const gpu = new LlamaModel(ckpt.config, ckpt.weights, { device, profileDir });
  const cpu = new LlamaModel(ckpt.config, ckpt.weights, { device: "cpu" });
  const checks: CheckResult[] = [];
  const check = (name: string, value: number, bound: number, what: string) =>
    checks.push({ name, pass: value <= bound, detail: `${what} ${value.toExponential(2)} (bound ${bound})` });
  try {
    const lora = testAdapter(ckpt);
    const rows = prompts(ckpt.config.vocabSize);
    log("logits…");
    const [lg, lc] = [await gpu.logits(rows, lora), await cpu.logits(rows, lora)];
    check(
      "logits",
      Math.max(...lc.flatMap((r, b) => r.map((v, t) => maxRel(lg[b][t], v)))),
      tol,
      "max |Δ| / max |cpu|",
    );

    log("loss and LoRA gradients…");
    const batch = { inputIds: rows, labels: rows.map((r) => r.map((x, i) => (i === 0 ? -100 : x))) };
    const [gg, gc] = [await gpu.lossAndGrads(batch, { lora }), await cpu.lossAndGrads(batch, { lora })];
    check("loss", Math.abs(gg.loss - gc.loss) / Math.abs(gc.loss), tol, "|Δ| / |cpu|");
    check(
      "lora_gradients",
      Math.max(...[...gc.grads].map(([k, v]) => maxRel(gg.grads.get(k) as FArr, v))),
      tol,
      "worst tensor's max |Δ| / max |cpu|",
    );

    log("greedy decoding, 3 prompts × 32 tokens…");
    const gen = { maxNewTokens: 32, eosTokenIds: [] };
    let t0 = performance.now();
    const tg = await generate(gpu, rows, gen);
    const gpuTps = (3 * 32) / ((performance.now() - t0) / 1000);
    const bytes = gpu.lastTransfer;
    t0 = performance.now();
    const tc = await generate(cpu, rows, gen);
    const cpuTps = (3 * 32) / ((performance.now() - t0) / 1000);
    const differing = tg.filter((r, b) => r.some((x, i) => x !== tc[b][i])).length;
    checks.push({
      name: "greedy_tokens",
      pass: differing === 0,
      detail: `${differing} of 3 rows differ from the CPU's`,
    });

    await gpu.endProfiling();
    const placement: GpuCheckReport["placement"] = {};
    for (const [name, nodes] of readProfiles(profileDir)) {
      const kind = name.replace(/-\d+$/, "");
      const p = summarisePlacement(nodes, PROVIDER[device]);
      placement[kind] = {
        nodes: nodes.length,
        fraction_on_device: p.fractionOnDevice,
        cpu_nodes: describeNodes(p.fallbacks),
      };
      checks.push({
        name: `placement_${kind}`,
        pass: p.heavyFallbacks.length === 0,
        detail: `${(100 * p.fractionOnDevice).toFixed(1)}% of ${nodes.length} nodes on the device; ${p.heavyFallbacks.length} product/softmax/float nodes on the CPU`,
      });
    }
    const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
    return {
      device,
      adapter: device === "webgpu" ? describeAdapter() : null,
      checks,
      placement,
      decode_step_bytes: { up: sum(bytes.up), down: sum(bytes.down) },
      tokens_per_s: { device: gpuTps, cpu: cpuTps },
      peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
    };
  } finally {
    await gpu.release();
    await cpu.release();
    rmSync(profileDir, { recursive: true, force: true });
  }
}
