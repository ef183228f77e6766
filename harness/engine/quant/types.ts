/** The quantization setting and a quantized weight (no dependencies, so the graph builders can import them). */
import type { Int4Tensor } from "./int4.ts";
import type { Int8Tensor } from "./int8.ts";
import type { Nf4Tensor } from "./nf4.ts";

export const QUANT_TYPES = ["nf4", "int4"] as const;
export type QuantType = (typeof QUANT_TYPES)[number];

export interface QuantSpec {
  type: QuantType;
  /** Values per block along a weight row (the in-features axis). */
  blockSize: number;
  /** NF4 only: quantize the absmax values again (8-bit, blocks of 256), as QLoRA's double quantization. */
  doubleQuant: boolean;
  /** int4 only: asymmetric blocks with packed zero points instead of the fixed zero point 8. */
  zeroPoints?: boolean;
}

/**
 * What the graphs and the weight store take: a QuantSpec, or int8 (MatMulNBits with 8 bits), which
 * only exported inference graphs use (it has no backward path, so no study arm can ask for it).
 */
export type WeightQuant = Omit<QuantSpec, "type"> & { type: QuantType | "int8" };

export type QuantTensor =
  | { type: "nf4"; t: Nf4Tensor }
  | { type: "int4"; t: Int4Tensor }
  | { type: "int8"; t: Int8Tensor };
