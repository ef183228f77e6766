/**
 * 4-bit decoder linears inside the Llama graphs. Each weight is held by the session as its codes and
 * scales (external initializers, never a float copy); the graph computes with them directly:
 *   float32 forward  one contrib node: MatMulNBits (int4) or MatMulBnb4 (NF4, bitsandbytes' layout);
 *   backward         dx = dy · W with W rebuilt from the codes right then (Graph.frozenLinear), so a
 *                    training step holds at most one dequantized weight at a time;
 *   float64          W dequantized by standard ops (check graphs; the contrib kernels are float-only).
 * int4 in float32 graphs without a backward pass (decoding, logits) is prepacked: see prepackInt4.
 * Dequantizing uses a [256, 2] table that maps each packed byte to its two values:
 *   NF4  W = NF4_CODE[code] × absmax;   int4  W = (code − zero point) × scale.
 *
 * Initializer names (suffixes of the checkpoint name, e.g. model.layers.0.self_attn.q_proj.weight.nf4):
 *   NF4:  .nf4 (uint8, packed), .absmax (float)
 *   int4: .int4 (uint8 [N, kBlocks, block/2]), .scales (float [N, kBlocks]), .zero_points (uint8)
 * With double quantization the session receives absmax already dequantized from its 8-bit form (the
 * values QLoRA computes with; the 8-bit storage of absmax is not kept inside the session).
 */
import type { Graph, T } from "../graph.ts";
import { CONTRIB_DOMAIN, INT4_PREPACKED_ACCURACY_LEVEL } from "./kernels.ts";
import { NF4_CODE } from "./nf4.ts";
import type { QuantTensor, WeightQuant } from "./types.ts";

/** The external initializers of one quantized weight: name suffix, dtype and dims. */
export interface QuantInit {
  name: string;
  dtype: "uint8" | "float32" | "float64";
  dims: number[];
}

export function quantInits(
  name: string,
  q: WeightQuant,
  outF: number,
  inF: number,
  float: "float32" | "float64",
): QuantInit[] {
  const blocks = inF / q.blockSize;
  if (q.type === "int8")
    return [
      { name: `${name}.int8`, dtype: "uint8", dims: [outF, blocks, q.blockSize] },
      { name: `${name}.scales`, dtype: float, dims: [outF, blocks] },
    ];
  if (q.type === "nf4")
    return [
      { name: `${name}.nf4`, dtype: "uint8", dims: [(outF * inF) / 2] },
      { name: `${name}.absmax`, dtype: float, dims: [outF * blocks] },
    ];
  const inits: QuantInit[] = [
    { name: `${name}.int4`, dtype: "uint8", dims: [outF, blocks, q.blockSize / 2] },
    { name: `${name}.scales`, dtype: float, dims: [outF, blocks] },
  ];
  if (q.zeroPoints)
    inits.push({ name: `${name}.zero_points`, dtype: "uint8", dims: [outF, Math.ceil(blocks / 2)] });
  return inits;
}

/** The bytes of one initializer of quantInits(), from the quantized tensor. */
export function quantInitBytes(init: QuantInit, t: QuantTensor, absmax: () => Float32Array): Uint8Array {
  const suffix = init.name.slice(init.name.lastIndexOf(".") + 1);
  const view = (x: Float32Array | Float64Array | Uint8Array) =>
    new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const float = (x: Float32Array) => (init.dtype === "float64" ? view(Float64Array.from(x)) : view(x));
  if (t.type === "nf4") return suffix === "nf4" ? t.t.packed : float(absmax());
  if (t.type === "int8") return suffix === "int8" ? t.t.b : float(t.t.scales);
  if (suffix === "int4") return t.t.b;
  if (suffix === "scales") return float(t.t.scales);
  if (!t.t.zeroPoints) throw new Error(`quant: ${init.name} has no zero points`);
  return t.t.zeroPoints;
}

/**
 * Whether a graph holds its int4 codes as true constants that MatMulNBits prepacks at session
 * creation (then the session must be created with prepacking on). Unprepacked, the kernel
 * dequantizes the whole weight into a float buffer on every run: ~30 ms per TinyLlama MLP weight
 * against 0.15 ms prepacked. Only float32 graphs with no backward pass qualify: there the codes enter
 * nothing but MatMulNBits. Where a backward rebuilds W from them (or float64 dequantizes them in the
 * forward), constant codes would let the optimizer fold that rebuilding into resident float copies,
 * so they stay run-time values (Graph.external's overridable). NF4 is never prepacked: MatMulBnb4 ran
 * no faster with it (4.0 ms either way at the same shape).
 */
export function prepackInt4(
  q: WeightQuant | undefined,
  float: "float32" | "float64",
  backward: boolean,
): boolean {
  return q?.type === "int4" && float === "float32" && !backward;
}

/** A [256, 2] table: for each byte value, the float values of its two 4-bit codes in packing order. */
function pairTable(g: Graph, value: (code: number) => number, highFirst: boolean): T {
  const v: number[] = [];
  for (let b = 0; b < 256; b++) {
    const hi = value(b >> 4);
    const lo = value(b & 15);
    v.push(...(highFirst ? [hi, lo] : [lo, hi]));
  }
  return g.const(v, g.float, [256, 2]);
}

/** Look up each packed byte's two values: [n bytes] uint8 → [n, 2] float. */
function unpack(g: Graph, packed: T, table: T, zero: T | null): T {
  const n = packed.shape.reduce((a, d) => (a as number) * (d as number), 1) as number;
  let bytes = g.raw("Reshape", [packed, g.const([-1], "int64")], "uint8", [n]);
  // The rebuilt copy starts from the zero too, so not even the index tensor is shared with the forward.
  if (zero) bytes = g.raw("BitwiseOr", [bytes, g.raw("Cast", [zero], "uint8", [1], { to: 2 })], "uint8", [n]);
  const idx = g.raw("Cast", [bytes], "int32", [n], { to: 6 });
  return g.raw("Gather", [table, idx], g.float, [n, 2], { axis: 0 });
}

/**
 * y = x · Wᵀ for the quantized weight `name` ([outF, inF]); `param(init)` returns the graph tensor
 * of one external initializer (declared once per graph by the caller); `prepacked`: the graph's
 * prepackInt4() (its int4 codes are constants the session prepacks).
 */
export function quantLinear(
  g: Graph,
  x: T,
  name: string,
  q: WeightQuant,
  outF: number,
  inF: number,
  param: (init: QuantInit) => T,
  prepacked = false,
): T {
  const [codes, scales, zp] = quantInits(name, q, outF, inF, g.float).map(param);
  const blocks = inF / q.blockSize;
  const weight = (zero: T | null): T => {
    if (q.type === "int8") throw new Error("quant: int8 weights run only in float32 forward graphs");
    const table =
      q.type === "nf4"
        ? pairTable(g, (c) => NF4_CODE[c], true)
        : pairTable(g, (c) => (q.zeroPoints ? c : c - 8), false);
    const vals = g.raw(
      "Reshape",
      [unpack(g, codes, table, zero), g.const([outF, blocks, q.blockSize], "int64")],
      g.float,
      [outF, blocks, q.blockSize],
    );
    let w = vals;
    if (zp) {
      // Zero points are packed two per byte like the codes (low nibble first), padded to whole bytes.
      const z2 = unpack(
        g,
        zp,
        pairTable(g, (c) => c, false),
        zero,
      );
      const zRow = g.raw("Reshape", [z2, g.const([outF, 2 * Math.ceil(blocks / 2)], "int64")], g.float, [
        outF,
        2 * Math.ceil(blocks / 2),
      ]);
      const z = g.raw(
        "Slice",
        [zRow, g.const([0], "int64"), g.const([blocks], "int64"), g.const([1], "int64")],
        g.float,
        [outF, blocks],
      );
      w = g.raw(
        "Sub",
        [w, g.raw("Unsqueeze", [z, g.const([2], "int64")], g.float, [outF, blocks, 1])],
        g.float,
        [outF, blocks, q.blockSize],
      );
    }
    const s = g.raw("Reshape", [scales, g.const([outF, blocks, 1], "int64")], g.float, [outF, blocks, 1]);
    w = g.raw("Mul", [w, s], g.float, [outF, blocks, q.blockSize]);
    return g.raw("Reshape", [w, g.const([outF, inF], "int64")], g.float, [outF, inF]);
  };
  // float32 forwards run fused contrib kernels (no float copy of W at all): MatMulNBits for int4,
  // MatMulBnb4 (bitsandbytes' NF4 layout) for NF4. float64 has no such kernels.
  const fused: Parameters<Graph["frozenLinear"]>[3] =
    g.float !== "float32"
      ? undefined
      : q.type !== "nf4"
        ? {
            op: "MatMulNBits",
            domain: CONTRIB_DOMAIN,
            inputs: zp ? [codes, scales, zp] : [codes, scales],
            attrs: {
              K: inF,
              N: outF,
              bits: q.type === "int8" ? 8 : 4,
              block_size: q.blockSize,
              ...(prepacked ? { accuracy_level: INT4_PREPACKED_ACCURACY_LEVEL } : {}),
            },
          }
        : {
            op: "MatMulBnb4",
            domain: CONTRIB_DOMAIN,
            inputs: [codes, scales],
            attrs: { K: inF, N: outF, block_size: q.blockSize, quant_type: 1 },
          };
  return g.frozenLinear(x, outF, weight, fused);
}
