import { describe, expect, it } from "vitest";
import { dequantizeInt4, int4Bytes, quantizeInt4 } from "../../../harness/engine/quant/int4.ts";
import { probeKernel } from "../../../harness/engine/quant/kernels.ts";
import { rngStream } from "../../../harness/rng.ts";

/** Blockwise int4 from its definition, one block at a time, codes unpacked. */
function refBlock(x: number[], zeroPoints: boolean): { q: number[]; scale: number; zp: number } {
  const r = (v: number) => (v < 0 ? -Math.round(-v) : Math.round(v)); // halves away from zero
  const f = x.map(Math.fround);
  if (zeroPoints) {
    const lo = Math.min(0, ...f);
    const hi = Math.max(0, ...f);
    const scale = Math.fround((hi - lo) / 15);
    const zp = scale === 0 ? 0 : Math.min(15, Math.max(0, r(-lo / scale)));
    const q = f.map((v) => (scale === 0 ? zp : Math.min(15, Math.max(0, r(v / scale) + zp))));
    return { q, scale, zp };
  }
  const m = f.reduce((a, v) => (Math.abs(v) > Math.abs(a) ? v : a), 0);
  const scale = Math.fround(m / -8);
  const q = f.map((v) => (scale === 0 ? 8 : Math.min(15, Math.max(0, r(v / scale) + 8))));
  return { q, scale, zp: 8 };
}

describe("int4 in MatMulNBits' layout", () => {
  for (const blockSize of [32, 64]) {
    for (const zeroPoints of [false, true]) {
      it(`block ${blockSize}, ${zeroPoints ? "with" : "without"} zero points: codes, scales and packing follow the definition`, () => {
        const rng = rngStream(blockSize, `int4-${zeroPoints}`);
        const n = 5;
        const k = 192; // 3 or 6 blocks per row: an odd block count exercises the zero-point padding
        const w = Float32Array.from({ length: n * k }, () => rng.normal() * 0.05 + (zeroPoints ? 0.02 : 0));
        w.fill(0, 0, blockSize); // a block of zeros
        w[k + 3] = 40; // one huge value
        const t = quantizeInt4(w, n, k, { blockSize, zeroPoints });
        const kBlocks = k / blockSize;
        expect(t.b).toHaveLength((n * k) / 2);
        expect(t.scales).toHaveLength(n * kBlocks);
        expect(t.zeroPoints?.length).toBe(zeroPoints ? n * Math.ceil(kBlocks / 2) : undefined);
        const deq = dequantizeInt4(t);
        for (let row = 0; row < n; row++) {
          for (let blk = 0; blk < kBlocks; blk++) {
            const start = row * k + blk * blockSize;
            const ref = refBlock([...w.subarray(start, start + blockSize)], zeroPoints);
            expect(t.scales[row * kBlocks + blk]).toBe(ref.scale);
            if (t.zeroPoints) {
              const z = t.zeroPoints[row * Math.ceil(kBlocks / 2) + (blk >> 1)];
              expect(blk & 1 ? z >> 4 : z & 15).toBe(ref.zp);
            }
            for (let j = 0; j < blockSize; j++) {
              const i = start + j;
              expect(i & 1 ? t.b[i >> 1] >> 4 : t.b[i >> 1] & 15).toBe(ref.q[j]);
              expect(deq[i]).toBe(Math.fround((ref.q[j] - ref.zp) * ref.scale));
            }
          }
        }
        // Symmetric blocks reproduce their extreme exactly; asymmetric ones within half a step.
        const s = Math.abs(t.scales[kBlocks]);
        expect(Math.abs(deq[k + 3] - 40)).toBeLessThanOrEqual(zeroPoints ? s / 2 : 0);
        expect([...deq.subarray(0, blockSize)].every((v) => v === 0)).toBe(true);
        expect(int4Bytes(t)).toBe((n * k) / 2 + n * kBlocks * 4 + (t.zeroPoints?.length ?? 0));
      });
    }
  }

  it("quantization error is at most half a step per value (symmetric, away from the clamp)", () => {
    const rng = rngStream(2, "int4-err");
    const w = Float32Array.from({ length: 4 * 64 }, () => rng.next() * 2 - 1);
    const t = quantizeInt4(w, 4, 64, { blockSize: 32 });
    const deq = dequantizeInt4(t);
    let checked = 0;
    w.forEach((v, i) => {
      const scale = t.scales[Math.floor(i / 32)];
      if (v / scale > 7.5) return; // past the top code: clamped (the opposite sign of the block's extreme)
      checked++;
      expect(Math.abs(deq[i] - v)).toBeLessThanOrEqual(Math.abs(scale) / 2 + 1e-7);
    });
    expect(checked).toBeGreaterThan(w.length * 0.9);
  });
});

describe("onnxruntime-node's CPU provider runs the 4-bit contrib kernels on our packing", () => {
  for (const blockSize of [32, 64]) {
    for (const zeroPoints of [false, true]) {
      it(`MatMulNBits, block ${blockSize}, ${zeroPoints ? "with" : "without"} zero points`, async () => {
        const r = await probeKernel("MatMulNBits", "cpu", { blockSize, zeroPoints });
        expect(r.error).toBeUndefined();
        expect(r.maxRelError).toBeLessThan(1e-5);
        expect(r.ok).toBe(true);
      });
    }
  }

  for (const blockSize of [32, 64]) {
    it(`MatMulNBits prepacked with int8 activations (the decode graphs' setting), block ${blockSize}`, async () => {
      const r = await probeKernel("MatMulNBits", "cpu", { blockSize, prepacked: true });
      expect(r.error).toBeUndefined();
      expect(r.ok).toBe(true);
      // Measured 3.6e-3 (block 32) and 6.3e-3 (block 64): the activations' int8 rounding, which the
      // unprepacked kernel (above, below 1e-5) does not have.
      expect(r.maxRelError).toBeLessThan(1.5e-2);
      expect(r.maxRelError).toBeGreaterThan(1e-4);
    });
  }

  it("MatMulBnb4 (NF4, bitsandbytes' packing)", async () => {
    const r = await probeKernel("MatMulBnb4", "cpu");
    expect(r.error).toBeUndefined();
    expect(r.maxRelError).toBeLessThan(1e-5);
  });
});
