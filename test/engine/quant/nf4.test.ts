import { describe, expect, it } from "vitest";
import {
  DOUBLE_QUANT_BLOCK,
  dequantizeNf4,
  dynamicCode8,
  NF4_CODE,
  nf4Absmax,
  nf4Bytes,
  nf4Codes,
  quantizeNf4,
} from "../../../harness/engine/quant/nf4.ts";
import { rngStream } from "../../../harness/rng.ts";

// ── an independent NF4, written from the QLoRA paper's definition ─────────────────────────────────

/** Standard normal CDF from the Maclaurin series of erf (accurate to ~1e-15 for |x| ≤ 3). */
function normCdf(x: number): number {
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return 0.5 + sum / Math.sqrt(Math.PI);
}

/** Inverse normal CDF by bisection. */
function normPpf(p: number): number {
  let lo = -8;
  let hi = 8;
  for (let i = 0; i < 200; i++) {
    const mid = (lo + hi) / 2;
    if (normCdf(mid) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

const linspace = (a: number, b: number, n: number) =>
  Array.from({ length: n }, (_, i) => a + ((b - a) * i) / (n - 1));

/**
 * QLoRA's NormalFloat-4: quantiles of N(0, 1), 8 for the positive half and 7 for the negative half
 * plus an exact zero, the outermost quantile at δ = ½((1 − 1/30) + (1 − 1/32)), scaled into [−1, 1].
 */
function paperCode(): number[] {
  const delta = 0.5 * (1 - 1 / 30 + (1 - 1 / 32));
  const pos = linspace(delta, 0.5, 9).slice(0, -1).map(normPpf);
  const neg = linspace(delta, 0.5, 8)
    .slice(0, -1)
    .map((p) => -normPpf(p));
  const all = [...pos, 0, ...neg].sort((a, b) => a - b);
  const max = Math.max(...all);
  return all.map((v) => v / max);
}

/** Nearest code of x/absmax, computed exactly in float64; on an exact tie, the lower code. */
function refQuantize(block: number[]): { codes: number[]; absmax: number; deq: number[] } {
  const absmax = Math.max(...block.map((x) => Math.abs(Math.fround(x))));
  const codes = block.map((x) => {
    if (absmax === 0) return 7;
    const n = Math.fround(x) / absmax;
    let best = 0;
    for (let i = 1; i < 16; i++) if (Math.abs(n - NF4_CODE[i]) < Math.abs(n - NF4_CODE[best])) best = i;
    return best;
  });
  return { codes, absmax, deq: codes.map((c) => Math.fround(NF4_CODE[c] * absmax)) };
}

function quantizeBlocks(values: number[], blockSize = 64) {
  const q = quantizeNf4(Float32Array.from(values), values.length / blockSize, blockSize, { blockSize });
  return { q, codes: [...nf4Codes(q)], deq: [...dequantizeNf4(q)], absmax: [...nf4Absmax(q)] };
}

function compareWithReference(values: number[], blockSize = 64): void {
  const got = quantizeBlocks(values, blockSize);
  for (let b = 0; b < values.length / blockSize; b++) {
    const ref = refQuantize(values.slice(b * blockSize, (b + 1) * blockSize));
    expect(got.absmax[b]).toBe(ref.absmax);
    expect(got.codes.slice(b * blockSize, (b + 1) * blockSize)).toEqual(ref.codes);
    expect(got.deq.slice(b * blockSize, (b + 1) * blockSize)).toEqual(ref.deq);
  }
}

const nextUp = (x: number) => {
  const f = new Float32Array([x]);
  const u = new Int32Array(f.buffer);
  u[0] += x >= 0 ? 1 : -1;
  return f[0];
};
const nextDown = (x: number) => -nextUp(-x);

describe("NF4 code book", () => {
  it("equals the NormalFloat quantiles of the paper's definition to float32 precision", () => {
    const code = paperCode();
    expect(code).toHaveLength(16);
    code.forEach((v, i) => {
      expect(Math.abs(v - NF4_CODE[i])).toBeLessThan(2e-7);
    });
    expect(NF4_CODE.every((v) => Math.fround(v) === v)).toBe(true);
  });
});

describe("NF4 quantize → dequantize against the paper's definition", () => {
  it("random blocks (normal, uniform, heavy-tailed, mixed scales) match exactly", () => {
    const rng = rngStream(7, "nf4-random");
    const values: number[] = [];
    for (let b = 0; b < 96; b++) {
      const scale = 10 ** (rng.next() * 8 - 5);
      for (let i = 0; i < 64; i++) {
        const kind = b % 3;
        const x = kind === 0 ? rng.normal() : kind === 1 ? rng.next() * 2 - 1 : rng.normal() ** 3;
        values.push(x * scale);
      }
    }
    compareWithReference(values);
    compareWithReference(values.slice(0, 32 * 40), 32);
  });

  it("a block of zeros has absmax 0 and dequantizes to zeros", () => {
    const { codes, deq, absmax } = quantizeBlocks(new Array(64).fill(0));
    expect(absmax).toEqual([0]);
    expect(new Set(codes)).toEqual(new Set([7]));
    expect(deq.every((v) => v === 0)).toBe(true);
  });

  it("one huge value: it is reproduced exactly, the rest of its block collapses to zero", () => {
    const rng = rngStream(3, "nf4-huge");
    const block = Array.from({ length: 64 }, () => rng.normal() * 1e-3);
    block[17] = -3e30;
    compareWithReference(block);
    const { deq, codes } = quantizeBlocks(block);
    expect(deq[17]).toBe(Math.fround(-3e30));
    expect(codes[17]).toBe(0);
    expect(codes.filter((_, i) => i !== 17).every((c) => c === 7)).toBe(true);
  });

  it("ties at code midpoints go to the lower code; the neighbours on each side go their way", () => {
    // absmax 1 (the first value), so each value is its own normalised value.
    const block = [1];
    const expected: number[] = [15];
    const midsMovedUp: number[] = [];
    for (let i = 0; i < 15; i++) {
      const exact = (NF4_CODE[i] + NF4_CODE[i + 1]) / 2;
      const m = Math.fround(exact);
      block.push(nextDown(m), m, nextUp(m));
      expected.push(i, i, i + 1);
      if (m > exact) midsMovedUp.push(i);
    }
    while (block.length < 64) {
      block.push(0);
      expected.push(7);
    }
    const { codes } = quantizeBlocks(block);
    expect(codes).toEqual(expected);
    // The paper's exact rule agrees everywhere except where float32 rounding put the midpoint above
    // the exact one: bitsandbytes (and we) still take the lower code there.
    const ref = refQuantize(block).codes;
    const differ = codes.map((c, i) => (c === ref[i] ? -1 : i)).filter((i) => i >= 0);
    expect(differ).toEqual(midsMovedUp.map((i) => 2 + 3 * i));
    for (const i of differ) expect(ref[i]).toBe(codes[i] + 1);
  });

  it("packs the first value of each pair in the high nibble", () => {
    const block = [1, -1, ...new Array(62).fill(0)];
    const { q } = quantizeBlocks(block);
    expect(q.packed[0]).toBe((15 << 4) | 0);
    expect(q.packed[1]).toBe((7 << 4) | 7);
    expect(q.packed).toHaveLength(32);
  });

  it("float64 dequantization is the exact product code × absmax", () => {
    const rng = rngStream(1, "nf4-f64");
    const w = Float32Array.from({ length: 4 * 64 }, () => rng.normal() * 0.02);
    const q = quantizeNf4(w, 4, 64);
    const d64 = dequantizeNf4(q, "float64");
    const d32 = dequantizeNf4(q, "float32");
    const codes = nf4Codes(q);
    const am = nf4Absmax(q);
    d64.forEach((v, i) => {
      expect(v).toBe(NF4_CODE[codes[i]] * am[Math.floor(i / 64)]);
      expect(Math.fround(v)).toBe(d32[i]);
    });
  });

  it("refuses a block size that does not divide a row", () => {
    expect(() => quantizeNf4(new Float32Array(96), 1, 96, { blockSize: 64 })).toThrow(
      /does not divide a row/,
    );
  });
});

describe("NF4 double quantization", () => {
  it("the dynamic 8-bit code has 256 ascending values in [-1, 1] with 0 and 1", () => {
    const code = dynamicCode8();
    expect(code).toHaveLength(256);
    for (let i = 1; i < 256; i++) expect(code[i]).toBeGreaterThan(code[i - 1]);
    expect(code[255]).toBe(1);
    expect(code.includes(0)).toBe(true);
    expect(code[0]).toBeGreaterThan(-1);
  });

  it("absmax round-trips within half a code gap of its group scale, and the weights use it", () => {
    const rng = rngStream(5, "nf4-dq");
    const rows = 40;
    const cols = 1024; // 640 first-level blocks → 3 second-level groups (256, 256, 128)
    const w = Float32Array.from({ length: rows * cols }, () => rng.normal() * (0.01 + rng.next() * 0.05));
    const plain = quantizeNf4(w, rows, cols);
    const dq = quantizeNf4(w, rows, cols, { doubleQuant: true });
    expect(dq.absmax).toBeUndefined();
    expect(dq.packed).toEqual(plain.packed);
    const exact = nf4Absmax(plain);
    const approx = nf4Absmax(dq);
    const code = dynamicCode8();
    let gap = 0;
    for (let i = 1; i < 256; i++) gap = Math.max(gap, code[i] - code[i - 1]);
    const d = dq.double;
    if (!d) throw new Error("no double quantization");
    expect(d.absmax).toHaveLength(Math.ceil(exact.length / DOUBLE_QUANT_BLOCK));
    for (let i = 0; i < exact.length; i++) {
      const scale2 = d.absmax[Math.floor(i / DOUBLE_QUANT_BLOCK)];
      expect(Math.abs(approx[i] - exact[i])).toBeLessThanOrEqual((gap / 2) * scale2 * (1 + 1e-6) + 1e-9);
    }
    const deq = dequantizeNf4(dq);
    const codes = nf4Codes(dq);
    deq.forEach((v, i) => {
      expect(v).toBe(Math.fround(NF4_CODE[codes[i]] * approx[Math.floor(i / 64)]));
    });
    // 4 bits per weight plus 8 bits per 64 weights plus 32 bits per 256·64: about 4.127 bits/weight.
    expect((nf4Bytes(dq) * 8) / w.length).toBeLessThan(4.13);
    expect((nf4Bytes(plain) * 8) / w.length).toBe(4.5);
  });
});
