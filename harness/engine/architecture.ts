/**
 * The decoder families' tensors as data, in one place: the linear layers (module path, [out, in]
 * shape), every checkpoint tensor, the LoRA targets with PEFT's keys, parameter counts, and what tells
 * the families apart (ArchFeatures). Llama and Gemma share every tensor name and shape; Gemma differs
 * only in arithmetic the one graph builder switches on, and Gemma-2 adds two norms per layer. The graph
 * builder, the checkpoint and adapter readers, LoRA, quantisation and perf all read shapes from here.
 */

/** Families the engine implements (config.json's `model_type`). */
export type ModelType = "llama" | "gemma" | "gemma2";

/** What a family computes differently from Llama, as options of the one graph builder. */
export interface ArchFeatures {
  /** transformers' class name (config.json's `architectures`). */
  architecture: string;
  /** Embedding rows are multiplied by sqrt(hidden_size), rounded to the hidden dtype. */
  embedScale: boolean;
  /** RMSNorm multiplies by (1 + weight) rather than by weight (weights are stored around 0). */
  normPlusOne: boolean;
  /** MLP gate: SwiGLU (silu) or GeGLU with the tanh-approximated GELU. */
  activation: "silu" | "gelu_tanh";
  /**
   * Gemma-2's four norms per layer: post_attention_layernorm normalises the attention output before
   * the residual add, pre_feedforward_layernorm feeds the MLP, post_feedforward_layernorm normalises
   * its output. (The attention scale, the soft-caps and the sliding window are config values.)
   */
  sandwichNorms: boolean;
}

export const FAMILIES: Record<ModelType, ArchFeatures> = {
  llama: {
    architecture: "LlamaForCausalLM",
    embedScale: false,
    normPlusOne: false,
    activation: "silu",
    sandwichNorms: false,
  },
  gemma: {
    architecture: "GemmaForCausalLM",
    embedScale: true,
    normPlusOne: true,
    activation: "gelu_tanh",
    sandwichNorms: false,
  },
  gemma2: {
    architecture: "Gemma2ForCausalLM",
    embedScale: true,
    normPlusOne: true,
    activation: "gelu_tanh",
    sandwichNorms: true,
  },
};

export function archFeatures(c: { modelType: ModelType }): ArchFeatures {
  return FAMILIES[c.modelType];
}

/** The dimensions that decide every tensor's shape (a LlamaConfig has them all). */
export interface LlamaDims {
  hiddenSize: number;
  intermediateSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  vocabSize: number;
  tieWordEmbeddings: boolean;
  /** The family, where it adds tensors (Gemma-2's extra norms); Llama's tensors when absent. */
  modelType?: ModelType;
}

/** The linear modules of a decoder layer (every one a LoRA target), with their parent in the module tree. */
export const LORA_MODULES: Record<string, "self_attn" | "mlp"> = {
  q_proj: "self_attn",
  k_proj: "self_attn",
  v_proj: "self_attn",
  o_proj: "self_attn",
  gate_proj: "mlp",
  up_proj: "mlp",
  down_proj: "mlp",
};

export const LORA_TARGETS = Object.keys(LORA_MODULES);

/** Module path of a linear inside a layer: self_attn.q_proj, mlp.gate_proj … */
export function modulePath(target: string): string {
  if (!Object.hasOwn(LORA_MODULES, target))
    throw new Error(`not a linear module of a Llama layer: ${target}`);
  return `${LORA_MODULES[target]}.${target}`;
}

/** In/out features of a layer's linear (its weight is [outF, inF], PyTorch's layout). */
export function linearShape(c: LlamaDims, target: string): { inF: number; outF: number } {
  const H = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const table: Record<string, [number, number]> = {
    q_proj: [H, q],
    k_proj: [H, kv],
    v_proj: [H, kv],
    o_proj: [q, H],
    gate_proj: [H, c.intermediateSize],
    up_proj: [H, c.intermediateSize],
    down_proj: [c.intermediateSize, H],
  };
  const s = table[target];
  if (!s) throw new Error(`not a linear module of a Llama layer: ${target}`);
  return { inF: s[0], outF: s[1] };
}

export function linearWeightName(layer: number, target: string): string {
  return `model.layers.${layer}.${modulePath(target)}.weight`;
}

/**
 * Every tensor a LlamaForCausalLM, GemmaForCausalLM or Gemma2ForCausalLM checkpoint must have, in
 * state-dict order. lm_head only when untied (Gemma ties: its 256000-row head is the embedding, stored once).
 */
export function llamaWeightNames(c: LlamaDims): { name: string; shape: number[] }[] {
  const H = c.hiddenSize;
  const sandwich = c.modelType !== undefined && FAMILIES[c.modelType].sandwichNorms;
  const out = [{ name: "model.embed_tokens.weight", shape: [c.vocabSize, H] }];
  const linear = (i: number, t: string) => {
    const { inF, outF } = linearShape(c, t);
    out.push({ name: linearWeightName(i, t), shape: [outF, inF] });
  };
  for (let i = 0; i < c.numLayers; i++) {
    out.push({ name: `model.layers.${i}.input_layernorm.weight`, shape: [H] });
    for (const t of ["q_proj", "k_proj", "v_proj", "o_proj"]) linear(i, t);
    out.push({ name: `model.layers.${i}.post_attention_layernorm.weight`, shape: [H] });
    if (sandwich) out.push({ name: `model.layers.${i}.pre_feedforward_layernorm.weight`, shape: [H] });
    for (const t of ["gate_proj", "up_proj", "down_proj"]) linear(i, t);
    if (sandwich) out.push({ name: `model.layers.${i}.post_feedforward_layernorm.weight`, shape: [H] });
  }
  out.push({ name: "model.norm.weight", shape: [H] });
  if (!c.tieWordEmbeddings) out.push({ name: "lm_head.weight", shape: [c.vocabSize, H] });
  return out;
}

/** Parameters of the model (a tied head counted once). */
export function countModelParams(c: LlamaDims): number {
  return llamaWeightNames(c).reduce((n, { shape }) => n + shape.reduce((a, b) => a * b, 1), 0);
}

/** PEFT's state-dict key of a LoRA tensor; also the graph input's name. */
export function loraKey(layer: number, target: string, which: "A" | "B"): string {
  return `base_model.model.model.layers.${layer}.${modulePath(target)}.lora_${which}.weight`;
}

/** Every (layer, target, A|B) LoRA tensor with its shape (A [r, in], B [out, r]), in a fixed order. */
export function loraShapes(
  c: LlamaDims,
  s: { r: number; targetModules: readonly string[] },
): { key: string; shape: [number, number] }[] {
  const out: { key: string; shape: [number, number] }[] = [];
  for (let i = 0; i < c.numLayers; i++) {
    for (const t of LORA_TARGETS) {
      if (!s.targetModules.includes(t)) continue;
      const { inF, outF } = linearShape(c, t);
      out.push({ key: loraKey(i, t, "A"), shape: [s.r, inF] });
      out.push({ key: loraKey(i, t, "B"), shape: [outF, s.r] });
    }
  }
  return out;
}

export function countLoraParams(c: LlamaDims, s: { r: number; targetModules: readonly string[] }): number {
  return loraShapes(c, s).reduce((n, { shape }) => n + shape[0] * shape[1], 0);
}

/** Matmul FLOPs of one token through every layer's linears (2 per multiply-add), and of one head row. */
export function linearFlopsPerToken(c: LlamaDims): { body: number; head: number } {
  const perLayer = LORA_TARGETS.reduce((n, t) => {
    const { inF, outF } = linearShape(c, t);
    return n + inF * outF;
  }, 0);
  return { body: 2 * c.numLayers * perLayer, head: 2 * c.hiddenSize * c.vocabSize };
}
