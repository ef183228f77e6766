/**
 * NF4 (4-bit NormalFloat) blockwise quantization with the numerics of QLoRA / bitsandbytes:
 *   - a weight matrix [rows, cols] is read in row-major order and cut into blocks of `blockSize`
 *     consecutive values (64 by default); each block keeps its absmax as float32;
 *   - every value is normalised by its block's absmax, exactly as bitsandbytes does it in float32
 *     (x · fround(1/absmax)), and mapped to the nearest of the 16 NormalFloat codes;
 *   - dequantized value = code × absmax, rounded once to float32.
 * Codes are packed two per byte with the FIRST value in the HIGH nibble (bitsandbytes' layout, which
 * onnxruntime's com.microsoft MatMulBnb4 reads too).
 *
 * Rounding rule: a normalised value exactly on the midpoint of two adjacent codes maps to the LOWER
 * code. The midpoints are those bitsandbytes compares against (`x > midpoint`), i.e. the exact
 * midpoint rounded to float32; where that rounding moved it up, the float32 value just above the true
 * midpoint also maps down. A block of zeros has absmax 0 and maps to the zero code (bitsandbytes
 * computes 0·(1/0) = NaN there and lands on code 0 = -1; either way the dequantized values are ±0).
 *
 * Double quantization (QLoRA §3): the absmax values, minus their mean, quantized again blockwise
 * (256 per block) to bitsandbytes' signed 8-bit dynamic code; dequantized absmax =
 * code × absmax₂ + mean.
 */

/** The 16 NormalFloat-4 values (QLoRA, Appendix E; bitsandbytes' NF4 table), ascending. */
export const NF4_CODE: readonly number[] = [
  -1.0, -0.6961928009986877, -0.5250730514526367, -0.39491748809814453, -0.28444138169288635,
  -0.18477343022823334, -0.09105003625154495, 0.0, 0.07958029955625534, 0.16093020141124725,
  0.24611230194568634, 0.33791524171829224, 0.44070982933044434, 0.5626170039176941, 0.7229568362236023, 1.0,
];

/** Index of the exact zero in NF4_CODE. */
export const NF4_ZERO = 7;

/** The float32 thresholds bitsandbytes compares a normalised value against (15 midpoints). */
const NF4_MID = NF4_CODE.slice(1).map((hi, i) => Math.fround((NF4_CODE[i] + hi) / 2));

export const DOUBLE_QUANT_BLOCK = 256;

export interface DoubleQuant {
  /** 8-bit indices into dynamicCode8() of (absmax − offset), one per first-level block. */
  codes: Uint8Array;
  /** float32 absmax of each group of DOUBLE_QUANT_BLOCK first-level absmax values. */
  absmax: Float32Array;
  /** float32 mean of the first-level absmax values. */
  offset: number;
}

export interface Nf4Tensor {
  rows: number;
  cols: number;
  blockSize: number;
  /** ceil(rows·cols / 2) bytes; value 2i in the high nibble of byte i, value 2i+1 in the low. */
  packed: Uint8Array;
  /** One float32 per block (absent when double-quantized: see `double`). */
  absmax?: Float32Array;
  double?: DoubleQuant;
}

/** Index of the nearest NF4 code of a normalised value (ties to the lower code, see above). */
export function nf4Index(normed: number): number {
  // Binary search over the 15 ascending thresholds: the index is how many of them lie below.
  let lo = 0;
  let hi = NF4_MID.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (normed > NF4_MID[mid]) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export interface Nf4Options {
  blockSize?: number;
  doubleQuant?: boolean;
}

/** Quantize a row-major [rows, cols] float matrix. `blockSize` must divide cols (blocks never straddle rows). */
export function quantizeNf4(
  w: Float32Array | Float64Array,
  rows: number,
  cols: number,
  opts: Nf4Options = {},
): Nf4Tensor {
  const blockSize = opts.blockSize ?? 64;
  checkLayout(w.length, rows, cols, blockSize);
  const nBlocks = w.length / blockSize;
  const absmax = new Float32Array(nBlocks);
  const codes = new Uint8Array(w.length);
  for (let b = 0; b < nBlocks; b++) {
    const start = b * blockSize;
    let m = 0;
    for (let i = start; i < start + blockSize; i++) m = Math.max(m, Math.abs(Math.fround(w[i])));
    absmax[b] = m;
    if (m === 0) {
      codes.fill(NF4_ZERO, start, start + blockSize);
      continue;
    }
    const inv = Math.fround(1 / m);
    for (let i = start; i < start + blockSize; i++) codes[i] = nf4Index(Math.fround(Math.fround(w[i]) * inv));
  }
  const t: Nf4Tensor = { rows, cols, blockSize, packed: packHighFirst(codes) };
  if (opts.doubleQuant) t.double = doubleQuantize(absmax);
  else t.absmax = absmax;
  return t;
}

/** The 4-bit code of every value, unpacked (one per byte). */
export function nf4Codes(t: Nf4Tensor): Uint8Array {
  const n = t.rows * t.cols;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const byte = t.packed[i >> 1];
    out[i] = i & 1 ? byte & 0x0f : byte >> 4;
  }
  return out;
}

/** The float32 absmax per block, dequantizing the second level when the tensor has one. */
export function nf4Absmax(t: Nf4Tensor): Float32Array {
  if (t.absmax) return t.absmax;
  if (!t.double) throw new Error("nf4: tensor has neither absmax nor double-quantized absmax");
  return dequantizeDouble(t.double, (t.rows * t.cols) / t.blockSize);
}

/** code × absmax per value: float32-rounded products, or exact products in float64 (check graphs). */
export function dequantizeNf4(
  t: Nf4Tensor,
  float: "float32" | "float64" = "float32",
): Float32Array | Float64Array {
  const codes = nf4Codes(t);
  const absmax = nf4Absmax(t);
  const out = float === "float32" ? new Float32Array(codes.length) : new Float64Array(codes.length);
  for (let i = 0; i < codes.length; i++) out[i] = NF4_CODE[codes[i]] * absmax[Math.floor(i / t.blockSize)];
  return out;
}

/** Bytes the tensor occupies: packed codes plus (first- or second-level) scales. */
export function nf4Bytes(t: Nf4Tensor): number {
  const scales = t.double
    ? t.double.codes.byteLength + t.double.absmax.byteLength + 4
    : (t.absmax?.byteLength ?? 0);
  return t.packed.byteLength + scales;
}

export function checkLayout(n: number, rows: number, cols: number, blockSize: number): void {
  if (n !== rows * cols) throw new Error(`quant: ${n} values for a ${rows}×${cols} matrix`);
  if (!Number.isInteger(blockSize) || blockSize < 2 || blockSize % 2 !== 0)
    throw new Error(`quant: block size ${blockSize} must be an even integer`);
  if (cols % blockSize !== 0)
    throw new Error(`quant: block size ${blockSize} does not divide a row of ${cols} values`);
}

function packHighFirst(codes: Uint8Array): Uint8Array {
  const packed = new Uint8Array(Math.ceil(codes.length / 2));
  for (let i = 0; i < codes.length; i += 2) packed[i >> 1] = (codes[i] << 4) | (codes[i + 1] ?? 0);
  return packed;
}

// ── double quantization ─────────────────────────────────────────────────────────────────────────

let dynamic: Float32Array | null = null;

/** torch.linspace in float32: the first half counts up from start, the second half down from end. */
function linspace32(start: number, end: number, steps: number): number[] {
  const step = Math.fround((end - start) / (steps - 1));
  const half = Math.floor(steps / 2);
  return Array.from({ length: steps }, (_, i) =>
    i < half ? Math.fround(start + i * step) : Math.fround(end - (steps - 1 - i) * step),
  );
}

/**
 * bitsandbytes' signed 8-bit dynamic code (create_dynamic_map(signed=True), 7 exponent bits): for
 * each decade 10^-6 … 10^0, 2^i fraction values (midpoints of a float32 linspace over [0.1, 1]) with
 * both signs, plus 0 and 1; 256 ascending float32 values. Computed from that definition in float32.
 */
export function dynamicCode8(): Float32Array {
  if (dynamic) return dynamic;
  const values: number[] = [0, 1];
  for (let i = 0; i < 7; i++) {
    const b = linspace32(0.1, 1, 2 ** i + 1);
    const scale = Math.fround(10 ** (i - 6));
    for (let j = 0; j + 1 < b.length; j++) {
      const mean = Math.fround(Math.fround(b[j] + b[j + 1]) / 2);
      const v = Math.fround(scale * mean);
      values.push(v, -v);
    }
  }
  values.sort((a, b) => a - b);
  dynamic = Float32Array.from(values);
  return dynamic;
}

/** Nearest entry of an ascending code (ties to the lower index). */
function nearest(code: Float32Array, x: number): number {
  let lo = 0;
  let hi = code.length - 1;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (code[mid] <= x) lo = mid;
    else hi = mid;
  }
  return x - code[lo] <= code[hi] - x ? lo : hi;
}

function doubleQuantize(absmax: Float32Array): DoubleQuant {
  let sum = 0;
  for (const a of absmax) sum += a;
  const offset = Math.fround(sum / absmax.length);
  const code = dynamicCode8();
  const groups = Math.ceil(absmax.length / DOUBLE_QUANT_BLOCK);
  const codes = new Uint8Array(absmax.length);
  const scale2 = new Float32Array(groups);
  for (let g = 0; g < groups; g++) {
    const start = g * DOUBLE_QUANT_BLOCK;
    const end = Math.min(start + DOUBLE_QUANT_BLOCK, absmax.length);
    let m = 0;
    for (let i = start; i < end; i++) m = Math.max(m, Math.abs(Math.fround(absmax[i] - offset)));
    scale2[g] = m;
    const inv = m === 0 ? 0 : Math.fround(1 / m);
    for (let i = start; i < end; i++)
      codes[i] = nearest(code, Math.fround(Math.fround(absmax[i] - offset) * inv));
  }
  return { codes, absmax: scale2, offset };
}

function dequantizeDouble(d: DoubleQuant, n: number): Float32Array {
  const code = dynamicCode8();
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const a = Math.fround(code[d.codes[i]] * d.absmax[Math.floor(i / DOUBLE_QUANT_BLOCK)]);
    out[i] = a + d.offset;
  }
  return out;
}
