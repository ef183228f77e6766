/**
 * Blockwise int4 in the layout of onnxruntime's com.microsoft MatMulNBits (bits = 4):
 *   B           uint8 [N, kBlocks, blockSize/2]: row n of the weight (out-feature n, PyTorch's
 *               [out, in] layout), block b, two codes per byte with the FIRST in the LOW nibble;
 *   scales      float [N, kBlocks];
 *   zero_points uint8 [N, ceil(kBlocks/2)], packed like B (low nibble first), or absent: then the
 *               kernel uses 8.
 * Dequantized value = (code − zero_point) × scale, rounded once to float32.
 *
 * Rounding: x/scale rounded to the nearest integer, halves away from zero, then clamped to the code
 * range. Symmetric blocks (no zero points) take the scale from the block's value of largest magnitude
 * m, scale = m / −8, so that m itself is the code 0 exactly and the other values use the whole range
 * [−8, 7]; asymmetric blocks span [min(0, lo), max(0, hi)] in 15 steps with an integer zero point, so
 * that 0 is exact. A block of zeros has scale 0 (every value dequantizes to 0).
 */
import { checkLayout } from "./nf4.ts";

export const INT4_BLOCK_SIZES = [32, 64] as const;

export interface Int4Tensor {
  /** Out-features (rows of the [out, in] weight). */
  n: number;
  /** In-features (the reduction axis). */
  k: number;
  blockSize: number;
  /** [n, kBlocks, blockSize/2] */
  b: Uint8Array;
  /** [n, kBlocks] */
  scales: Float32Array;
  /** [n, ceil(kBlocks/2)], or absent for symmetric quantization (zero point 8). */
  zeroPoints?: Uint8Array;
}

function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.floor(Math.abs(x) + 0.5);
}

const clamp = (q: number) => Math.min(15, Math.max(0, q));

/** Quantize a row-major [n, k] weight; `blockSize` must divide k. */
export function quantizeInt4(
  w: Float32Array | Float64Array,
  n: number,
  k: number,
  opts: { blockSize?: number; zeroPoints?: boolean } = {},
): Int4Tensor {
  const blockSize = opts.blockSize ?? 32;
  checkLayout(w.length, n, k, blockSize);
  const kBlocks = k / blockSize;
  const zpStride = Math.ceil(kBlocks / 2);
  const b = new Uint8Array((n * k) / 2);
  const scales = new Float32Array(n * kBlocks);
  const zeroPoints = opts.zeroPoints ? new Uint8Array(n * zpStride) : undefined;
  for (let row = 0; row < n; row++) {
    for (let blk = 0; blk < kBlocks; blk++) {
      const start = row * k + blk * blockSize;
      let zp = 8;
      let scale: number;
      if (zeroPoints) {
        let lo = 0;
        let hi = 0;
        for (let i = start; i < start + blockSize; i++) {
          lo = Math.min(lo, Math.fround(w[i]));
          hi = Math.max(hi, Math.fround(w[i]));
        }
        scale = Math.fround((hi - lo) / 15);
        zp = scale === 0 ? 0 : clamp(roundHalfAway(-lo / scale));
        zeroPoints[row * zpStride + (blk >> 1)] |= blk & 1 ? zp << 4 : zp;
      } else {
        let m = 0;
        for (let i = start; i < start + blockSize; i++)
          if (Math.abs(w[i]) > Math.abs(m)) m = Math.fround(w[i]);
        scale = Math.fround(m / -8);
      }
      scales[row * kBlocks + blk] = scale;
      const inv = scale === 0 ? 0 : 1 / scale;
      for (let i = start; i < start + blockSize; i++) {
        // Row-major [n, k] with blocks dividing k: value i is nibble i of B, low nibble first.
        const q = clamp(roundHalfAway(Math.fround(w[i]) * inv) + zp);
        b[i >> 1] |= i & 1 ? q << 4 : q;
      }
    }
  }
  return { n, k, blockSize, b, scales, zeroPoints };
}

/** The dequantized [n, k] weight: (code − zero point) × scale. */
export function dequantizeInt4(
  t: Int4Tensor,
  float: "float32" | "float64" = "float32",
): Float32Array | Float64Array {
  const { n, k, blockSize } = t;
  const kBlocks = k / blockSize;
  const zpStride = Math.ceil(kBlocks / 2);
  const out = float === "float32" ? new Float32Array(n * k) : new Float64Array(n * k);
  for (let row = 0; row < n; row++) {
    for (let col = 0; col < k; col++) {
      const i = row * k + col;
      const byte = t.b[i >> 1];
      const q = i & 1 ? byte >> 4 : byte & 0x0f;
      const blk = Math.floor(col / blockSize);
      let zp = 8;
      if (t.zeroPoints) {
        const z = t.zeroPoints[row * zpStride + (blk >> 1)];
        zp = blk & 1 ? z >> 4 : z & 0x0f;
      }
      out[i] = (q - zp) * t.scales[row * kBlocks + blk];
    }
  }
  return out;
}

export function int4Bytes(t: Int4Tensor): number {
  return t.b.byteLength + t.scales.byteLength + (t.zeroPoints?.byteLength ?? 0);
}
