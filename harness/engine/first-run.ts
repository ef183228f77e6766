/**
 * The first run on a new accelerator, as checks with numbers (docs/gpu-runner.md lists them):
 *   placement  every float node of the loss, logits and decode graphs runs on the device's provider
 *              (read from onnxruntime's profile), not on the CPU;
 *   numerics   logits, loss and LoRA gradients of a model agree with the CPU provider's;
 *   growth     memory after 20 training steps of varying length is not above what the first half of
 *              them reached (an allocator that keeps growing would end a long run out of memory).
 * `memory` reads the device's memory: RSS on the CPU, `nvidia-smi` on CUDA.
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import type { LlamaConfig } from "./checkpoint.ts";
import { initLora, type LoraSettings } from "./lora.ts";
import { type FArr, LlamaModel } from "./model.ts";
import { describeNodes, readProfiles, summarisePlacement } from "./placement.ts";
import type { Device } from "./session.ts";
import { executionProvider } from "./version.ts";

const SETTINGS: LoraSettings = {
  r: 8,
  alpha: 16,
  dropout: 0,
  targetModules: ["q_proj", "v_proj"],
  useRslora: false,
};

/** Token rows of the given lengths (deterministic, inside the vocabulary). */
function rows(c: LlamaConfig, lens: number[]): number[][] {
  return lens.map((n, b) =>
    Array.from({ length: n }, (_, t) => 1 + ((t * 7919 + b * 104729) % (c.vocabSize - 1))),
  );
}

function loraFor(c: LlamaConfig) {
  const lora = initLora(c, SETTINGS, "first-run");
  // PEFT starts B at zero; a non-zero B makes every LoRA gradient and product visible in the check.
  for (const [k, v] of lora.tensors)
    if (k.includes("lora_B")) for (let i = 0; i < v.length; i++) v[i] = 0.01 * Math.sin(i);
  return lora;
}

/** Float nodes that ran off the device, per graph kind ("" lines when none). */
export async function placementCheck(
  c: LlamaConfig,
  weights: Map<string, FArr>,
  device: Device,
): Promise<Record<string, string[]>> {
  const dir = mkdtempSync(join(os.tmpdir(), "lora-bench-first-run-"));
  try {
    const model = new LlamaModel(c, weights, { device, profileDir: dir });
    const lora = loraFor(c);
    const ids = rows(c, [12, 9]);
    await model.logits(ids, lora);
    await model.lossAndGrads(
      { inputIds: ids, labels: ids.map((r) => r.map((t, i) => (i < 4 ? -100 : t))) },
      { lora },
    );
    let past = (
      await model.decodeStep(
        ids.map((r) => r.slice(0, 4)),
        null,
        ids.map(() => [true, true, true, true]),
        [
          [0, 1, 2, 3],
          [0, 1, 2, 3],
        ],
        lora,
      )
    ).cache;
    past = (
      await model.decodeStep(
        [[5], [6]],
        past,
        ids.map(() => Array(5).fill(true)),
        [[4], [4]],
        lora,
      )
    ).cache;
    await model.endProfiling();
    await model.release();
    const out: Record<string, string[]> = {};
    for (const [name, nodes] of readProfiles(dir)) {
      const kind = name.replace(/-\d+$/, "");
      const heavy = summarisePlacement(nodes, executionProvider(device)).heavyFallbacks;
      out[kind] = [...(out[kind] ?? []), ...describeNodes(heavy)];
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Largest difference between the device's and the CPU's logits, loss and gradients, relative to scale. */
export async function numericsCheck(
  c: LlamaConfig,
  weights: Map<string, FArr>,
  device: Device,
): Promise<{ logits: number; loss: number; grads: number }> {
  const lora = loraFor(c);
  const ids = rows(c, [16, 11]);
  const labels = ids.map((r) => r.map((t, i) => (i < 5 ? -100 : t)));
  const run = async (d: Device) => {
    const m = new LlamaModel(c, weights, { device: d });
    const logits = (await m.logits(ids, lora)).flat();
    const lg = await m.lossAndGrads({ inputIds: ids, labels }, { lora });
    await m.release();
    return { logits, lg };
  };
  const dev = await run(device);
  const cpu = await run("cpu");
  const rel = (a: ArrayLike<number>[], b: ArrayLike<number>[]) => {
    let diff = 0;
    let scale = 0;
    a.forEach((x, i) => {
      for (let j = 0; j < x.length; j++) {
        diff = Math.max(diff, Math.abs(x[j] - b[i][j]));
        scale = Math.max(scale, Math.abs(b[i][j]));
      }
    });
    return diff / (scale || 1);
  };
  const names = [...cpu.lg.grads.keys()];
  return {
    logits: rel(dev.logits, cpu.logits),
    loss: Math.abs(dev.lg.loss - cpu.lg.loss) / Math.abs(cpu.lg.loss),
    grads: rel(
      names.map((n) => dev.lg.grads.get(n)!),
      names.map((n) => cpu.lg.grads.get(n)!),
    ),
  };
}

/** Bytes the device holds now: the process's RSS on the CPU, the GPU's used memory on CUDA. */
export function deviceMemory(device: Device): number {
  if (device !== "cuda") return process.memoryUsage.rss();
  const mib = execFileSync(
    "nvidia-smi",
    ["--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"],
    {
      encoding: "utf8",
    },
  );
  return Number(mib.trim().split("\n")[0]) * 2 ** 20;
}

/**
 * Memory after each of `lens.length` training steps whose rows have the given lengths (a cycle of
 * different shapes, as a real epoch has), and whether the second half stayed within the first half's peak.
 */
export async function growthCheck(
  c: LlamaConfig,
  weights: Map<string, FArr>,
  device: Device,
  lens: number[],
  slack = 0.02,
): Promise<{ after: number[]; firstPeak: number; secondPeak: number; grew: boolean }> {
  const model = new LlamaModel(c, weights, { device });
  const lora = loraFor(c);
  const after: number[] = [];
  for (const n of lens) {
    const ids = rows(c, [n]);
    await model.lossAndGrads(
      { inputIds: ids, labels: ids.map((r) => r.map((t, i) => (i < n / 2 ? -100 : t))) },
      { lora },
    );
    after.push(deviceMemory(device));
  }
  await model.release();
  const half = Math.floor(after.length / 2);
  const firstPeak = Math.max(...after.slice(0, half));
  const secondPeak = Math.max(...after.slice(half));
  return { after, firstPeak, secondPeak, grew: secondPeak > firstPeak * (1 + slack) };
}
