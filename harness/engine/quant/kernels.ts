/**
 * Probes that onnxruntime's contrib 4-bit kernels exist and compute what our packing means on a
 * device: a one-node model (com.microsoft MatMulNBits or MatMulBnb4) over a small weight quantized
 * here, run once and compared with a plain product over the dequantized weight. A quantized run asks
 * this before any work, so a provider without the kernel is a one-line error, not a crash mid-study.
 *
 * Measured with onnxruntime-node 1.30 on the CPU provider: MatMulNBits (bits 4, block 32/64, with and
 * without zero points, scales [N, kBlocks] or flat) and MatMulBnb4 with transB = 1 (NF4) compute the
 * product; MatMulBnb4 with transB = 0 returns wrong values, so backward products never use it.
 */
import onnxProto from "onnx-proto";
import { UserError } from "../../errors.ts";
import { type Device, Session } from "../session.ts";
import { dequantizeInt4, type Int4Tensor, quantizeInt4 } from "./int4.ts";
import { dequantizeNf4, type Nf4Tensor, nf4Absmax, quantizeNf4 } from "./nf4.ts";

const { onnx } = onnxProto;
const FLOAT = onnx.TensorProto.DataType.FLOAT;
const UINT8 = onnx.TensorProto.DataType.UINT8;
export const CONTRIB_DOMAIN = "com.microsoft";

export type QuantKernel = "MatMulNBits" | "MatMulBnb4";

/**
 * MatMulNBits' accuracy_level where int4 weights are prepacked: activations are quantized to int8 per
 * block and the products run in integers (MLAS's CompInt8 kernels), about 3× faster than the float
 * kernel at batch 1. Measured at TinyLlama's shapes (K = 2048, N = 5632, M = 1, 2 threads): 0.15 ms
 * against 0.42 ms with float activations and 1.4 ms for the fp32 MatMul. Each product then differs
 * from the float one by ~3e-3 of its largest output, far below what the 4-bit weights themselves
 * move (see test/engine/quant). Unprepacked nodes ignore the level.
 */
export const INT4_PREPACKED_ACCURACY_LEVEL = 4;

/**
 * Largest relative error of the prepacked int4 probe, whose activations are int8: measured up to
 * 6.3e-3 (block 64; 3.6e-3 with block 32) on the CPU provider, where a misread layout is off by O(1).
 */
const PREPACKED_TOLERANCE = 2e-2;

function raw(name: string, dataType: number, dims: number[], bytes: Uint8Array): onnxProto.onnx.ITensorProto {
  return { name, dataType, dims, rawData: bytes };
}

function f32Bytes(x: Float32Array): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}

/** The MatMulNBits node's inputs for a quantized weight, as initializers named `${prefix}.*`. */
export function matMulNBitsInits(t: Int4Tensor, prefix: string): onnxProto.onnx.ITensorProto[] {
  const kBlocks = t.k / t.blockSize;
  const inits = [
    raw(`${prefix}.B`, UINT8, [t.n, kBlocks, t.blockSize / 2], t.b),
    raw(`${prefix}.scales`, FLOAT, [t.n, kBlocks], f32Bytes(t.scales)),
  ];
  if (t.zeroPoints)
    inits.push(raw(`${prefix}.zero_points`, UINT8, [t.n, Math.ceil(kBlocks / 2)], t.zeroPoints));
  return inits;
}

function oneNodeModel(
  op: QuantKernel,
  inits: onnxProto.onnx.ITensorProto[],
  attrs: Record<string, number>,
  k: number,
  n: number,
): Uint8Array {
  const INT = onnx.AttributeProto.AttributeType.INT;
  const info = (name: string, dims: (number | string)[]) => ({
    name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: dims.map((d) => (typeof d === "number" ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
  const graph = {
    name: "quant_probe",
    node: [
      {
        opType: op,
        domain: CONTRIB_DOMAIN,
        input: ["A", ...inits.map((t) => t.name as string)],
        output: ["Y"],
        attribute: Object.entries(attrs).map(([name, i]) => ({ name, type: INT, i })),
      },
    ],
    input: [info("A", ["M", k])],
    output: [info("Y", ["M", n])],
    initializer: inits,
  };
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: "lora-bench",
    opsetImport: [
      { domain: "", version: 18 },
      { domain: CONTRIB_DOMAIN, version: 1 },
    ],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}

/** A deterministic, sign-mixed [n, k] weight with one outlier per row (exercises every code). */
function probeWeight(n: number, k: number): Float32Array {
  const w = new Float32Array(n * k);
  for (let i = 0; i < w.length; i++) w[i] = Math.sin(i * 0.7 + 0.3) * (1 + (i % 5) * 0.25);
  for (let r = 0; r < n; r++) w[r * k + ((r * 13) % k)] = 4 - r;
  return w;
}

/** y = a · Wᵀ in float64 over the dequantized weight, a: [m, k], w: [n, k]. */
function product(a: Float32Array, w: Float32Array | Float64Array, m: number, n: number, k: number): number[] {
  const y: number[] = [];
  for (let i = 0; i < m; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < k; t++) s += a[i * k + t] * w[j * k + t];
      y.push(s);
    }
  return y;
}

export interface ProbeResult {
  kernel: QuantKernel;
  ok: boolean;
  /** Largest |kernel − reference| relative to the largest |reference|. */
  maxRelError: number;
  error?: string;
}

/** Run one kernel on `device` and compare it with the product over the dequantized weight. */
export async function probeKernel(
  kernel: QuantKernel,
  device: Device,
  /** prepacked: MatMulNBits as the prepacked graphs run it (graph.ts, prepackInt4). */
  opts: { blockSize?: number; zeroPoints?: boolean; prepacked?: boolean } = {},
): Promise<ProbeResult> {
  const m = 3;
  const n = 8;
  const k = 128;
  const blockSize = opts.blockSize ?? (kernel === "MatMulNBits" ? 32 : 64);
  const w = probeWeight(n, k);
  let model: Uint8Array;
  let deq: Float32Array | Float64Array;
  if (kernel === "MatMulNBits") {
    const q = quantizeInt4(w, n, k, { blockSize, zeroPoints: opts.zeroPoints });
    model = oneNodeModel(
      kernel,
      matMulNBitsInits(q, "w"),
      {
        K: k,
        N: n,
        bits: 4,
        block_size: blockSize,
        ...(opts.prepacked ? { accuracy_level: INT4_PREPACKED_ACCURACY_LEVEL } : {}),
      },
      k,
      n,
    );
    deq = dequantizeInt4(q);
  } else {
    const q: Nf4Tensor = quantizeNf4(w, n, k, { blockSize });
    const inits = [
      raw("w.B", UINT8, [q.packed.length], q.packed),
      raw("w.absmax", FLOAT, [(n * k) / blockSize], f32Bytes(nf4Absmax(q))),
    ];
    model = oneNodeModel(kernel, inits, { K: k, N: n, block_size: blockSize, quant_type: 1 }, k, n);
    deq = dequantizeNf4(q);
  }
  const a = Float32Array.from({ length: m * k }, (_, i) => Math.cos(i * 0.37));
  const ref = product(a, deq, m, n, k);
  const scale = Math.max(...ref.map(Math.abs));
  try {
    const session = await Session.create(model, { device, prepack: opts.prepacked });
    try {
      const out = await session.run({ A: { data: a, dims: [m, k] } });
      const y = out.Y.data as Float32Array;
      const err = Math.max(...ref.map((r, i) => Math.abs(y[i] - r))) / scale;
      // float32 accumulation over k = 128 terms: far below 1e-4 of the output scale when the layout is
      // right; int8 activations (the prepacked accuracy level) add up to PREPACKED_TOLERANCE.
      return { kernel, ok: err < (opts.prepacked ? PREPACKED_TOLERANCE : 1e-4), maxRelError: err };
    } finally {
      await session.release();
    }
  } catch (e) {
    if (e instanceof UserError) throw e;
    return { kernel, ok: false, maxRelError: Number.NaN, error: (e as Error).message.split("\n")[0] };
  }
}

/** Throw a one-line UserError unless `kernel` runs correctly on `device` (MatMulNBits: prepacked too). */
export async function assertQuantKernel(kernel: QuantKernel, device: Device, what: string): Promise<void> {
  let r = await probeKernel(kernel, device);
  if (r.ok && kernel === "MatMulNBits") r = await probeKernel(kernel, device, { prepacked: true });
  if (r.ok) return;
  const why = r.error ?? `its result differs from the dequantized product (relative error ${r.maxRelError})`;
  throw new UserError(`${what}: device ${device} has no working com.microsoft ${kernel} kernel (${why})`);
}
