/**
 * The quantization setting of a run (`--quant`, a profile's or arm's `quantization`) and the 4-bit
 * copy of a checkpoint it implies. Which layers are quantized follows bitsandbytes' QLoRA recipe:
 * every decoder linear (q/k/v/o, gate/up/down); embeddings, norms and lm_head stay as they are.
 */
import { UserError } from "../../errors.ts";
import { countModelParams, LORA_TARGETS, linearShape, linearWeightName } from "../architecture.ts";
import type { LlamaConfig } from "../checkpoint.ts";
import { INT4_BLOCK_SIZES, int4Bytes, quantizeInt4 } from "./int4.ts";
import { int8Bytes, quantizeInt8 } from "./int8.ts";
import { nf4Bytes, quantizeNf4 } from "./nf4.ts";
import { QUANT_TYPES, type QuantSpec, type QuantTensor, type QuantType, type WeightQuant } from "./types.ts";

export { QUANT_TYPES, type QuantSpec, type QuantTensor, type QuantType, type WeightQuant };

/** bitsandbytes' and QLoRA's NF4 block (64); onnxruntime's usual int4 block (32). */
export const DEFAULT_BLOCK: Record<QuantType, number> = { nf4: 64, int4: 32 };

/** Fill in defaults and check what can be checked without a model. `where` names the flag or key. */
export function resolveQuant(
  q: { type: string; blockSize?: number; doubleQuant?: boolean; zeroPoints?: boolean },
  where: string,
): QuantSpec {
  if (!(QUANT_TYPES as readonly string[]).includes(q.type))
    throw new UserError(`unknown quantization type "${q.type}" (one of ${QUANT_TYPES.join(", ")})`, where);
  const type = q.type as QuantType;
  const blockSize = q.blockSize ?? DEFAULT_BLOCK[type];
  if (type === "int4") {
    if (!(INT4_BLOCK_SIZES as readonly number[]).includes(blockSize))
      throw new UserError(
        `int4 block size ${blockSize} is not one MatMulNBits is used with here (${INT4_BLOCK_SIZES.join(", ")})`,
        where,
      );
    if (q.doubleQuant) throw new UserError("doubleQuant applies to nf4 only", where);
  } else {
    // MatMulBnb4 (NF4 decoding) needs a power of two ≥ 16.
    if (!Number.isInteger(blockSize) || blockSize < 16 || (blockSize & (blockSize - 1)) !== 0)
      throw new UserError(`nf4 block size ${blockSize} must be a power of two ≥ 16`, where);
    if (q.zeroPoints) throw new UserError("zeroPoints applies to int4 only", where);
  }
  return {
    type,
    blockSize,
    doubleQuant: q.doubleQuant ?? false,
    ...(type === "int4" ? { zeroPoints: q.zeroPoints ?? false } : {}),
  };
}

/** `--quant nf4|int4`: the type with its default block, or undefined when the flag is absent. */
export function parseQuantFlag(value: string | undefined): QuantSpec | undefined {
  if (value === undefined) return undefined;
  return resolveQuant({ type: value }, "--quant");
}

/** The checkpoint names of the quantized weights of a model (every decoder linear), with [out, in]. */
export function quantizedLinears(c: LlamaConfig): { name: string; out: number; in: number }[] {
  const out: { name: string; out: number; in: number }[] = [];
  for (let i = 0; i < c.numLayers; i++)
    for (const t of LORA_TARGETS) {
      const s = linearShape(c, t);
      out.push({ name: linearWeightName(i, t), out: s.outF, in: s.inF });
    }
  return out;
}

/** Refuse a setting the model cannot take: a block that does not divide every quantized row. */
export function checkQuantFits(q: WeightQuant, c: LlamaConfig, where: string): void {
  for (const l of quantizedLinears(c)) {
    if (l.in % q.blockSize !== 0)
      throw new UserError(
        `${q.type} block size ${q.blockSize} does not divide a row of ${l.name} (${l.in} in-features)`,
        where,
      );
  }
}

/** Quantize one [out, in] weight with the setting. */
export function quantizeLinear(
  q: WeightQuant,
  w: Float32Array | Float64Array,
  out: number,
  inF: number,
): QuantTensor {
  if (q.type === "int8") return { type: "int8", t: quantizeInt8(w, out, inF, q.blockSize) };
  return q.type === "nf4"
    ? { type: "nf4", t: quantizeNf4(w, out, inF, { blockSize: q.blockSize, doubleQuant: q.doubleQuant }) }
    : { type: "int4", t: quantizeInt4(w, out, inF, { blockSize: q.blockSize, zeroPoints: q.zeroPoints }) };
}

/** Bytes of a quantized weight: codes plus scales (and zero points or second-level scales). */
export function quantBytes(t: QuantTensor): number {
  if (t.type === "int8") return int8Bytes(t.t);
  return t.type === "nf4" ? nf4Bytes(t.t) : int4Bytes(t.t);
}

/**
 * Quantize every decoder linear of a checkpoint. `release(name)` is called once a weight is
 * quantized, so a caller streaming a large model can drop its float copy right away.
 */
export function quantizeModel(
  q: WeightQuant,
  c: LlamaConfig,
  weights: ReadonlyMap<string, Float32Array | Float64Array>,
  release?: (name: string) => void,
): Map<string, QuantTensor> {
  checkQuantFits(q, c, "quantization");
  const out = new Map<string, QuantTensor>();
  for (const l of quantizedLinears(c)) {
    const w = weights.get(l.name);
    if (!w) throw new Error(`quant: the checkpoint lacks ${l.name}`);
    out.set(l.name, quantizeLinear(q, w, l.out, l.in));
    release?.(l.name);
  }
  return out;
}

/**
 * Resident bytes of a model's weights with its decoder linears in 4 bits: packed codes, float32
 * scales (and zero points) for the linears, float32 for everything else (embeddings, norms, head).
 */
export function quantizedWeightBytes(c: LlamaConfig, q: WeightQuant): number {
  let linearParams = 0;
  let bytes = 0;
  for (const l of quantizedLinears(c)) {
    const blocks = l.in / q.blockSize;
    linearParams += l.out * l.in;
    bytes += (l.out * l.in) / (q.type === "int8" ? 1 : 2) + l.out * blocks * 4;
    if (q.zeroPoints) bytes += l.out * Math.ceil(blocks / 2);
  }
  return bytes + (countModelParams(c) - linearParams) * 4;
}

/** A short stable label for reports and cache keys: "nf4-b64", "nf4-b64-dq", "int4-b32-zp". */
export function quantLabel(q: WeightQuant | undefined): string {
  if (!q) return "none";
  return [q.type, `b${q.blockSize}`, ...(q.doubleQuant ? ["dq"] : []), ...(q.zeroPoints ? ["zp"] : [])].join(
    "-",
  );
}
