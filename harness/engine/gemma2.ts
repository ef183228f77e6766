/**
 * Gemma-2's config values beyond Gemma's: the attention scale, the two tanh soft-caps and the sliding
 * window with its per-layer pattern. Read from config.json with Gemma2Config's defaults (an absent
 * field takes the default, null turns a cap off) and written back so transformers reads the same.
 */

export type LayerType = "sliding_attention" | "full_attention";
const LAYER_TYPES: readonly LayerType[] = ["sliding_attention", "full_attention"];

/** LlamaConfig fields that only Gemma-2 sets; absent, the builder computes Llama/Gemma attention. */
export interface Gemma2Options {
  /** Attention scores are scaled by queryPreAttnScalar^-0.5 (head_dim^-0.5 when absent). */
  queryPreAttnScalar?: number;
  /** Attention scores become cap·tanh(scores / cap) before the mask; absent: no cap. */
  attnLogitSoftcapping?: number;
  /** The head's logits become cap·tanh(logits / cap); absent: no cap. */
  finalLogitSoftcapping?: number;
  /** Window of the sliding layers: a query at cache index p sees keys k with p − k < slidingWindow. */
  slidingWindow?: number;
  /** Per layer; "sliding_attention" layers use the window. Absent: every layer attends fully. */
  layerTypes?: LayerType[];
}

/** Gemma2Config's defaults for fields a config.json leaves out. */
const DEFAULTS = {
  query_pre_attn_scalar: 256,
  attn_logit_softcapping: 50,
  final_logit_softcapping: 30,
  sliding_window: 4096,
};

/** Whether layer i attends within the sliding window. */
export function slidingLayer(c: Gemma2Options, i: number): boolean {
  return c.slidingWindow !== undefined && c.layerTypes?.[i] === "sliding_attention";
}

/** The Gemma-2 fields of a config.json (model_type "gemma2"); `bad` throws the one-line user error. */
export function parseGemma2Options(
  c: Record<string, unknown>,
  numLayers: number,
  bad: (msg: string) => never,
): Gemma2Options {
  const positive = (key: keyof typeof DEFAULTS, nullable: boolean): number | undefined => {
    const v = c[key] === undefined ? DEFAULTS[key] : c[key];
    if (v === null && nullable) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v <= 0)
      bad(`"${key}" must be a positive number${nullable ? " or null" : ""}, got ${JSON.stringify(v)}`);
    return v as number;
  };
  const impl = c.attn_implementation ?? c._attn_implementation;
  if (impl !== undefined && impl !== null && impl !== "eager") {
    // transformers' sdpa kernel skips the attention soft-cap, so such a config computes other numbers.
    bad(
      `attn_implementation ${JSON.stringify(impl)} is unsupported (lora-bench computes Gemma-2's eager attention, soft-cap included)`,
    );
  }
  let layerTypes: LayerType[];
  if (c.layer_types === undefined || c.layer_types === null) {
    // Gemma2Config's default: layers 0, 2, 4 … slide, the others attend fully.
    layerTypes = Array.from({ length: numLayers }, (_, i) => LAYER_TYPES[i % 2]);
  } else {
    const lt = c.layer_types;
    if (!Array.isArray(lt) || lt.length !== numLayers || !lt.every((t) => LAYER_TYPES.includes(t)))
      bad(
        `"layer_types" must list ${numLayers} entries (num_hidden_layers), each "sliding_attention" or "full_attention"`,
      );
    layerTypes = [...(lt as LayerType[])];
  }
  const out: Gemma2Options = { queryPreAttnScalar: positive("query_pre_attn_scalar", false) };
  const attnCap = positive("attn_logit_softcapping", true);
  const finalCap = positive("final_logit_softcapping", true);
  if (attnCap !== undefined) out.attnLogitSoftcapping = attnCap;
  if (finalCap !== undefined) out.finalLogitSoftcapping = finalCap;
  const sliding = layerTypes.includes("sliding_attention");
  const window = sliding || c.sliding_window !== null ? positive("sliding_window", false) : undefined;
  if (window !== undefined && !Number.isSafeInteger(window))
    bad(`"sliding_window" must be a positive integer, got ${JSON.stringify(window)}`);
  if (window !== undefined) out.slidingWindow = window;
  out.layerTypes = layerTypes;
  return out;
}

/** config.json fields that make transformers compute what the engine computes (null: cap off). */
export function gemma2ConfigFields(c: Gemma2Options): Record<string, unknown> {
  return {
    attn_logit_softcapping: c.attnLogitSoftcapping ?? null,
    final_logit_softcapping: c.finalLogitSoftcapping ?? null,
    layer_types: c.layerTypes,
    query_pre_attn_scalar: c.queryPreAttnScalar,
    sliding_window: c.slidingWindow ?? null,
  };
}
