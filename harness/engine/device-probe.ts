/**
 * Proof that a device's execution provider really computes: a MatMul (against a resident weight, as
 * the model's are) → Softmax → ReduceSum graph runs on the device, its nodes are read back from
 * onnxruntime's profile, and its output is compared with the CPU provider's. `ldd` on the provider
 * library cannot prove this: cuDNN and cuBLAS load lazily, at the first kernel that needs them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { Graph } from "./graph.ts";
import { describeNodes, readProfiles } from "./placement.ts";
import { type Device, Session } from "./session.ts";
import { executionProvider } from "./version.ts";

export interface ProbeResult {
  device: Device;
  provider: string;
  /** Every node of the probe, as "Op(types) → types on Provider". */
  nodes: string[];
  /** Nodes that ran on another provider than the device's. */
  elsewhere: string[];
  /** Largest |device − cpu| over the probe's output (row sums of a softmax: each ≈ 1). */
  maxAbsDiff: number;
  /** Largest |row sum − 1|: the arithmetic is right, not only equal on both sides. */
  maxRowError: number;
}

const M = 64;
const K = 256;
const N = 512;

async function run(device: Device, profileDir?: string): Promise<Float32Array> {
  const g = new Graph("float32");
  const x = g.input("x", [M, K]);
  const w = g.external("w", [K, N]);
  g.output(g.reduceSum(g.softmax(g.matmul(x, w)), [1], false), "y");
  const W = Float32Array.from({ length: K * N }, (_, i) => Math.sin(i) * 0.05);
  const X = Float32Array.from({ length: M * K }, (_, i) => Math.cos(i * 0.37));
  const s = await Session.create(g.toBytes(), {
    device,
    externalData: [{ path: "w", data: new Uint8Array(W.buffer) }],
    profilePrefix: profileDir && join(profileDir, "probe"),
  });
  try {
    const out = await s.run({ x: { data: X, dims: [M, K] } });
    if (profileDir) s.endProfiling();
    return Float32Array.from(out.y.data as Float32Array);
  } finally {
    await s.release();
  }
}

export async function probeDevice(device: Device): Promise<ProbeResult> {
  const dir = mkdtempSync(join(os.tmpdir(), "lora-bench-probe-"));
  try {
    const got = await run(device, dir);
    const ref = await run("cpu");
    const nodes = [...readProfiles(dir).values()].flat();
    const provider = executionProvider(device);
    return {
      device,
      provider,
      nodes: describeNodes(nodes),
      elsewhere: describeNodes(nodes.filter((n) => n.provider !== provider)),
      maxAbsDiff: Math.max(...got.map((v, i) => Math.abs(v - ref[i]))),
      maxRowError: Math.max(...got.map((v) => Math.abs(v - 1))),
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The verdict on a probe: null when the device computed the probe itself and correctly. */
export function probeProblem(p: ProbeResult): string | null {
  if (p.nodes.length === 0) return `${p.provider}: the profile lists no node; nothing is known to have run`;
  if (p.elsewhere.length)
    return `${p.provider}: ${p.elsewhere.length} probe node(s) ran elsewhere: ${p.elsewhere[0]}`;
  if (!(p.maxRowError < 1e-4))
    return `${p.provider}: softmax rows sum to 1 ± ${p.maxRowError}, not within 1e-4`;
  if (!(p.maxAbsDiff < 1e-4)) return `${p.provider}: differs from the CPU provider by ${p.maxAbsDiff}`;
  return null;
}
