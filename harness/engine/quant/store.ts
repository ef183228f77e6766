/**
 * A model's 4-bit decoder linears as the sessions receive them: the bytes of each initializer of
 * quant/graph.ts (codes, scales, zero points) by initializer name. Built once; the float arrays of
 * the quantized linears are dropped from the model's weights as soon as each is quantized.
 */
import type { LlamaConfig } from "../checkpoint.ts";
import { quantInitBytes, quantInits } from "./graph.ts";
import { type Nf4Tensor, nf4Absmax } from "./nf4.ts";
import { type QuantTensor, quantizedLinears, quantizeModel, type WeightQuant } from "./spec.ts";

export class QuantStore {
  private sources = new Map<string, () => Uint8Array>();

  constructor(
    q: WeightQuant,
    config: LlamaConfig,
    weights: Map<string, Float32Array | Float64Array>,
    float: "float32" | "float64",
    /** Already quantized with `q` (then `weights` need not hold the linears). */
    quantized?: Map<string, QuantTensor>,
  ) {
    const shapes = new Map(quantizedLinears(config).map((l) => [l.name, l]));
    const tensors = quantized ?? quantizeModel(q, config, weights, (n) => weights.delete(n));
    for (const [name, t] of tensors) {
      const l = shapes.get(name);
      if (!l) throw new Error(`quant: ${name} is not a decoder linear`);
      for (const init of quantInits(name, q, l.out, l.in, float))
        this.sources.set(init.name, () => quantInitBytes(init, t, () => nf4Absmax(t.t as Nf4Tensor)));
    }
  }

  /** Drop an initializer's bytes (they were written to disk for the sessions). */
  forget(name: string): void {
    this.sources.delete(name);
  }

  /** The bytes of one initializer, or undefined for a name that is not a 4-bit one. */
  get(name: string): Uint8Array | undefined {
    const source = this.sources.get(name);
    if (!source) return undefined;
    // Computed once (float64 or double-quantized absmax are conversions) and kept: sessions use them.
    const bytes = source();
    this.sources.set(name, () => bytes);
    return bytes;
  }
}
