import { describe, expect, it } from "vitest";
import { dequantizeInt8, int8Bytes, quantizeInt8 } from "../../../harness/engine/quant/int8.ts";

describe("int8 blocks (MatMulNBits bits = 8)", () => {
  const n = 4;
  const k = 64;
  const w = Float32Array.from({ length: n * k }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));

  it("round-trips every value within half a step of its block, the block maximum exactly", () => {
    const q = quantizeInt8(w, n, k, 32);
    const back = dequantizeInt8(q);
    for (let i = 0; i < w.length; i++) {
      const scale = q.scales[Math.floor(i / 32)];
      expect(Math.abs(back[i] - w[i])).toBeLessThanOrEqual(scale / 2 + 1e-6);
    }
    for (let b = 0; b < q.scales.length; b++) {
      const block = Array.from(w.subarray(b * 32, (b + 1) * 32), Math.abs);
      const top = block.indexOf(Math.max(...block)) + b * 32;
      expect(back[top]).toBeCloseTo(w[top], 5);
    }
    expect(int8Bytes(q)).toBe(n * k + (n * k * 4) / 32);
  });

  it("maps a block of zeros to zeros", () => {
    const q = quantizeInt8(new Float32Array(64), 1, 64, 32);
    expect(Array.from(q.b)).toEqual(new Array(64).fill(128));
    expect(Array.from(dequantizeInt8(q))).toEqual(new Array(64).fill(0));
  });
});
