/**
 * Blockwise 8-bit weights in the layout of onnxruntime's com.microsoft MatMulNBits with bits = 8 (used
 * by the q8 export; measured on the CPU provider of onnxruntime-node 1.30):
 *   B       uint8 [N, kBlocks, blockSize]: row n of the [out, in] weight, one code per byte;
 *   scales  float [N, kBlocks].
 * Symmetric: no zero points, so the kernel's default 128 applies; value = (code − 128) × scale with
 * scale = (largest |w| of the block) / 127, codes rounded half away from zero.
 */
import { checkLayout } from "./nf4.ts";

export interface Int8Tensor {
  n: number;
  k: number;
  blockSize: number;
  /** [n, kBlocks, blockSize] */
  b: Uint8Array;
  /** [n, kBlocks] */
  scales: Float32Array;
}

export function quantizeInt8(
  w: Float32Array | Float64Array,
  n: number,
  k: number,
  blockSize = 32,
): Int8Tensor {
  checkLayout(w.length, n, k, blockSize);
  const kBlocks = k / blockSize;
  const b = new Uint8Array(n * k);
  const scales = new Float32Array(n * kBlocks);
  for (let blk = 0; blk < n * kBlocks; blk++) {
    const start = blk * blockSize;
    let m = 0;
    for (let i = start; i < start + blockSize; i++) m = Math.max(m, Math.abs(Math.fround(w[i])));
    const scale = Math.fround(m / 127);
    scales[blk] = scale;
    const inv = scale === 0 ? 0 : 1 / scale;
    for (let i = start; i < start + blockSize; i++) {
      const x = Math.fround(w[i]) * inv;
      b[i] = 128 + Math.min(127, Math.max(-128, Math.sign(x) * Math.floor(Math.abs(x) + 0.5)));
    }
  }
  return { n, k, blockSize, b, scales };
}

export function dequantizeInt8(t: Int8Tensor): Float32Array {
  const out = new Float32Array(t.n * t.k);
  for (let i = 0; i < out.length; i++) out[i] = (t.b[i] - 128) * t.scales[Math.floor(i / t.blockSize)];
  return out;
}

export function int8Bytes(t: Int8Tensor): number {
  return t.b.byteLength + t.scales.byteLength;
}
