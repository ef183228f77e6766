/**
 * Half-precision conversions for checkpoint I/O. Assumes a little-endian host (every platform
 * Node ships for), so typed-array views of the same buffer reinterpret bits directly.
 */

let f16Table: Float32Array | null = null;

/** All 65536 half values decoded once (256 KiB); decoding a tensor is then a table lookup. */
function f16Lut(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) {
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >>> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) t[h] = sign * mant * 2 ** -24;
    else if (exp === 0x1f) t[h] = mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
    else t[h] = sign * (1 + mant / 1024) * 2 ** (exp - 15);
  }
  f16Table = t;
  return t;
}

export function f16ToF32(u16: Uint16Array): Float32Array {
  const lut = f16Lut();
  const out = new Float32Array(u16.length);
  for (let i = 0; i < u16.length; i++) out[i] = lut[u16[i]];
  return out;
}

/** bf16 is the top half of an f32, so decoding is a shift. */
export function bf16ToF32(u16: Uint16Array): Float32Array {
  const bits = new Uint32Array(u16.length);
  for (let i = 0; i < u16.length; i++) bits[i] = u16[i] << 16;
  return new Float32Array(bits.buffer);
}

function f32Bits(x: Float32Array): Uint32Array {
  return new Uint32Array(x.buffer, x.byteOffset, x.length);
}

/** One f32 bit pattern to f16 bits, round-to-nearest-even; overflow → ±inf, NaN stays (quiet) NaN. */
function halfBits(x: number): number {
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  const mant = x & 0x7fffff;
  if (exp === 0xff) return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  const e = exp - 112; // rebias 127 → 15
  if (e >= 0x1f) return sign | 0x7c00;
  if (e >= 1) {
    let h = (e << 10) | (mant >>> 13);
    const rem = mant & 0x1fff;
    if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++; // a carry into the exponent is still correct
    return sign | h;
  }
  // Subnormal half (or zero): value / 2^-24 = (1.mant × 2^23) >> (14 - e), rounded to nearest even.
  const shift = 14 - e;
  if (shift > 24) return sign;
  const full = mant | 0x800000;
  let q = full >>> shift;
  const rem = full & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  if (rem > half || (rem === half && q & 1)) q++;
  return sign | q;
}

export function f32ToF16(x: Float32Array): Uint16Array {
  const bits = f32Bits(x);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < bits.length; i++) out[i] = halfBits(bits[i]);
  return out;
}

export function f32ToBf16(x: Float32Array): Uint16Array {
  const bits = f32Bits(x);
  const out = new Uint16Array(x.length);
  for (let i = 0; i < bits.length; i++) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) {
      out[i] = (b >>> 16) | 0x40; // keep sign and top payload, force quiet so it cannot become inf
    } else {
      out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16; // RNE; >>> keeps it unsigned past 2^31
    }
  }
  return out;
}
