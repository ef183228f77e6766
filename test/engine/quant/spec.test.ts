import { describe, expect, it } from "vitest";
import { randomLlamaWeights } from "../../../harness/engine/checkpoint.ts";
import { dequantizeInt4 } from "../../../harness/engine/quant/int4.ts";
import { dequantizeNf4, nf4Bytes } from "../../../harness/engine/quant/nf4.ts";
import {
  checkQuantFits,
  parseQuantFlag,
  quantizedLinears,
  quantizeModel,
  quantLabel,
  resolveQuant,
} from "../../../harness/engine/quant/spec.ts";
import { UserError } from "../../../harness/errors.ts";
import { tinyConfig } from "../tiny.ts";

const c = tinyConfig({ hiddenSize: 64, intermediateSize: 96, headDim: 16 });

describe("quantization setting", () => {
  it("fills the defaults of each type: NF4 in blocks of 64, int4 in blocks of 32", () => {
    expect(parseQuantFlag(undefined)).toBeUndefined();
    expect(parseQuantFlag("nf4")).toEqual({ type: "nf4", blockSize: 64, doubleQuant: false });
    expect(parseQuantFlag("int4")).toEqual({
      type: "int4",
      blockSize: 32,
      doubleQuant: false,
      zeroPoints: false,
    });
    expect(quantLabel(resolveQuant({ type: "nf4", doubleQuant: true }, "x"))).toBe("nf4-b64-dq");
    expect(quantLabel(resolveQuant({ type: "int4", blockSize: 64, zeroPoints: true }, "x"))).toBe(
      "int4-b64-zp",
    );
    expect(quantLabel(undefined)).toBe("none");
  });

  it("refuses unknown types and impossible blocks with one line naming the flag or key", () => {
    const bad: [Parameters<typeof resolveQuant>[0], RegExp][] = [
      [{ type: "int8" }, /^--quant: unknown quantization type "int8" \(one of nf4, int4\)$/],
      [{ type: "int4", blockSize: 128 }, /int4 block size 128/],
      [{ type: "nf4", blockSize: 48 }, /power of two/],
      [{ type: "nf4", blockSize: 8 }, /power of two ≥ 16/],
      [{ type: "int4", doubleQuant: true }, /doubleQuant applies to nf4 only/],
      [{ type: "nf4", zeroPoints: true }, /zeroPoints applies to int4 only/],
    ];
    for (const [q, re] of bad) {
      let err: unknown;
      try {
        resolveQuant(q, "--quant");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UserError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain("\n");
    }
  });

  it("refuses a block size that does not divide a row of some decoder linear", () => {
    const q = resolveQuant({ type: "int4", blockSize: 64 }, "profile tiny: quantization");
    // down_proj's rows have 96 in-features: 64 does not divide them.
    expect(() => checkQuantFits(q, c, "profile tiny: quantization")).toThrow(
      /^profile tiny: quantization: int4 block size 64 does not divide a row of model\.layers\.0\.mlp\.down_proj\.weight \(96 in-features\)$/,
    );
    expect(() => checkQuantFits(resolveQuant({ type: "int4" }, "x"), c, "x")).not.toThrow();
  });

  it("quantizes every decoder linear and nothing else", () => {
    expect(quantizedLinears(c).map((l) => l.name.replace(/^model\.layers\.\d+\./, ""))).toEqual(
      [0, 1].flatMap(() => [
        "self_attn.q_proj.weight",
        "self_attn.k_proj.weight",
        "self_attn.v_proj.weight",
        "self_attn.o_proj.weight",
        "mlp.gate_proj.weight",
        "mlp.up_proj.weight",
        "mlp.down_proj.weight",
      ]),
    );
    const w = randomLlamaWeights(c, "spec", 0.05);
    const released: string[] = [];
    const nf4 = quantizeModel(resolveQuant({ type: "nf4", blockSize: 32 }, "x"), c, w, (n) =>
      released.push(n),
    );
    expect([...nf4.keys()]).toEqual(quantizedLinears(c).map((l) => l.name));
    expect(released).toEqual([...nf4.keys()]);
    for (const [name, q] of nf4) {
      if (q.type !== "nf4") throw new Error("expected nf4");
      const src = w.get(name) as Float32Array;
      const deq = dequantizeNf4(q.t);
      expect(deq).toHaveLength(src.length);
      // NF4's largest gap is 1 − 0.7230: no value moves by more than 0.14 of its block's absmax.
      const absmax = Math.max(...src.map(Math.abs));
      let worst = 0;
      src.forEach((v, i) => {
        worst = Math.max(worst, Math.abs(deq[i] - v));
      });
      expect(worst).toBeLessThanOrEqual(0.139 * absmax);
      expect(worst).toBeGreaterThan(0);
      expect(nf4Bytes(q.t)).toBe(src.length / 2 + (src.length / 32) * 4);
    }
    const int4 = quantizeModel(resolveQuant({ type: "int4" }, "x"), c, w);
    for (const [name, q] of int4) {
      if (q.type !== "int4") throw new Error("expected int4");
      expect(dequantizeInt4(q.t)).toHaveLength((w.get(name) as Float32Array).length);
    }
  });
});
