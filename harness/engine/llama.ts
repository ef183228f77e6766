/**
 * Hugging Face's LlamaForCausalLM as ONNX graphs, with PEFT's LoRA on any subset of the linear layers.
 * GemmaForCausalLM is the same graph with the options of archFeatures(config): embeddings scaled by
 * sqrt(hidden), RMSNorm by (1 + weight), a GeGLU MLP (head_dim, multi-query attention and the tied
 * head are plain config values). Gemma2ForCausalLM adds the norms around attention and MLP, and the
 * config's attention scale, soft-caps and sliding-window layers (gemma2.ts).
 *
 * Frozen weights are initializers named exactly as in the checkpoint (model.layers.0.self_attn.q_proj.weight)
 * whose bytes the session takes from the buffers we already hold (ONNX external data, in memory), so no
 * run() carries them; only full fine-tuning, where every weight is trainable, feeds them as inputs.
 * LoRA tensors are inputs named by their PEFT keys. Three graph kinds share one layer builder:
 *   - "loss":   cross-entropy over labelled positions (+ gradients of the trainable tensors),
 *   - "logits": logits at every position (for checks and the `logits` command),
 *   - "decode": KV-cached step (prefill when past length is 0), logits of the last position only.
 *
 * With `checkpoint`, the loss graph keeps only each layer's input: the forward runs untaped, and the
 * backward rebuilds layer i on its input plus an exact run-time zero drawn from the incoming
 * gradient (and the gradients of the layer above), so the rebuilt layer runs only once those exist
 * and is not merged with the forward copy; its VJP, seeded with that gradient, gives the layer's
 * input gradient and LoRA gradients. One layer's activations are alive at a time.
 */
import { archFeatures, linearShape, linearWeightName, loraKey } from "./architecture.ts";
import type { LlamaConfig } from "./checkpoint.ts";
import { slidingLayer } from "./gemma2.ts";
import { type Dim, Graph, type T } from "./graph.ts";
import { elemType } from "./onnx.ts";
import { prepackInt4, type QuantInit, quantLinear } from "./quant/graph.ts";
import type { WeightQuant } from "./quant/types.ts";
import { ropeInvFreq } from "./rope.ts";
import { storedHalf, type WeightStorage } from "./storage.ts";

export interface LoraGraphSpec {
  r: number;
  scaling: number;
  targets: readonly string[];
  /** Feed a dropout mask (already scaled by 1/(1-p)) per layer and target. */
  dropout: boolean;
}

export interface GraphSpec {
  config: LlamaConfig;
  kind: "loss" | "logits" | "decode";
  float?: "float32" | "float64";
  lora?: LoraGraphSpec;
  /** What gets gradients in a loss graph: the LoRA tensors, every weight, or nothing. */
  trainable?: "lora" | "all" | "none";
  /** Loss graph only: recompute each layer in the backward pass instead of keeping its activations. */
  checkpoint?: boolean;
  /**
   * float16: frozen weight matrices are half initializers, cast to `float` right before each use
   * (compute, backward and LoRA stay in `float`; norm vectors stay float32). Ignored when every
   * weight is trainable.
   */
  storage?: WeightStorage;
  /** Decoder linears held in 4 bits and dequantized in the graph (see quant/graph.ts). */
  quant?: WeightQuant;
  /**
   * Decode graph only. "engine" (default): rotary tables and the attention bias are fed, caches are
   * past_key.i / present_key.i, logits of the last position. "hf": the inputs and outputs of Hugging
   * Face's ONNX decoders, which transformers.js feeds: input_ids, attention_mask [batch, past +
   * new], position_ids, past_key_values.i.key|value → logits at every new position [batch, new,
   * vocab] and present.i.key|value; rotary angles and the causal bias are computed in the graph.
   */
  io?: "engine" | "hf";
}

/** Additive bias where attention is masked (torch.finfo(float32).min, as HF uses). */
export const MASKED = -3.4028234663852886e38;

export function dropoutKey(layer: number, target: string): string {
  return `dropout.${layer}.${target}`;
}

export interface BuiltGraph {
  bytes: Uint8Array;
  /** Names of the tensors whose gradients are outputs `grad:<name>`, in order. */
  trainable: string[];
  /** Checkpoint weights held by the session (external data, supplied at creation, never fed). */
  frozen: string[];
  /** The session must prepack: the graph's int4 codes are constants (quant/graph.ts, prepackInt4). */
  prepack: boolean;
}

export function buildLlamaGraph(spec: GraphSpec): BuiltGraph {
  const c = spec.config;
  const arch = archFeatures(c);
  const g = new Graph(spec.float ?? "float32");
  const trainMode = spec.trainable ?? (spec.kind === "loss" ? "lora" : "none");
  if (spec.quant && trainMode === "all")
    throw new Error("llama: 4-bit weights are frozen; train LoRA on them");
  const hd = c.headDim;
  const nH = c.numHeads;
  const nKv = c.numKvHeads;
  const rep = nH / nKv;
  const H = c.hiddenSize;
  const S: Dim = "S"; // new tokens per row
  const N: Dim = "B*S";

  // Every weight and LoRA tensor is one input, however many times a layer is built.
  const params = new Map<string, T>();
  const trainable: T[] = [];
  const frozen: string[] = [];
  const param = (name: string, shape: Dim[], train: boolean, external = false): T => {
    let t = params.get(name);
    if (!t) {
      if (external && half(shape as number[])) {
        // Overridable: ORT then cannot constant-fold Cast(W) into a resident fp32 copy of W.
        t = g.external(name, shape as number[], { dtype: "float16", overridable: true });
        frozen.push(name);
      } else if (external) {
        t = g.external(name, shape as number[]);
        frozen.push(name);
      } else {
        t = g.input(name, shape, { trainable: train });
        if (train) trainable.push(t);
      }
      params.set(name, t);
    }
    return t;
  };
  // Frozen weights are initializers (supplied as external data); trainable ones are inputs.
  const w = (name: string, shape: number[]): T =>
    trainMode === "all" ? param(name, shape, true) : param(name, shape, false, true);
  const half = (shape: number[]) => spec.storage === "float16" && trainMode !== "all" && storedHalf(shape);
  /** x·Wᵀ, upcasting a half weight at each use. */
  const dense = (x: T, weight: T) =>
    weight.dtype === "float16" ? g.linearCast(x, weight) : g.linear(x, weight);

  const hf = spec.io === "hf";
  if (hf && spec.kind !== "decode") throw new Error("llama: Hugging Face IO is for the decode graph");
  if (hf)
    g.nameDims({
      B: "batch_size",
      S: "sequence_length",
      P: "past_sequence_length",
      K: "total_sequence_length",
      "P+S": "total_sequence_length",
    });
  const ids = g.input("input_ids", ["B", S], { dtype: "int64" });
  // cos/sin of the rotary embedding per row and position [B, 1, S, hd], and the additive attention
  // bias [B, 1, 1, S, K]: 0 where a query may attend, a large negative elsewhere.
  const { cos4, sin4, bias } = hf ? hfInputs() : engineInputs();

  function engineInputs(): { cos4: T; sin4: T; bias: T } {
    const cos = g.input("rope_cos", ["B", S, hd]);
    const sin = g.input("rope_sin", ["B", S, hd]);
    const bias = g.input("attn_bias", ["B", 1, 1, S, "K"]);
    const cos4 = g.raw("Unsqueeze", [cos, g.const([1], "int64")], cos.dtype, ["B", 1, S, hd]);
    const sin4 = g.raw("Unsqueeze", [sin, g.const([1], "int64")], sin.dtype, ["B", 1, S, hd]);
    return { cos4, sin4, bias };
  }

  /** The same tensors from position_ids and attention_mask, as transformers' Llama computes them. */
  function hfInputs(): { cos4: T; sin4: T; bias: T } {
    const f = g.float;
    const i64 = (v: number[], dims?: number[]) => g.const(v, "int64", dims);
    const mask = g.input("attention_mask", ["B", "K"], { dtype: "int64" });
    const pos = g.input("position_ids", ["B", S], { dtype: "int64" });
    const inv = Array.from(ropeInvFreq(hd, { theta: c.ropeTheta, scaling: c.ropeScaling }));
    const posF = g.raw("Cast", [g.raw("Unsqueeze", [pos, i64([-1])], "int64", ["B", S, 1])], f, ["B", S, 1], {
      to: elemType(f),
    });
    const angles = g.raw("Mul", [posF, g.const(inv, f, [1, 1, hd / 2])], f, ["B", S, hd / 2]);
    const emb = g.raw("Concat", [angles, angles], f, ["B", S, hd], { axis: -1 });
    const emb4 = g.raw("Unsqueeze", [emb, i64([1])], f, ["B", 1, S, hd]);
    // Query s is token K − S + s of its row: it sees key k iff k ≤ K − S + s and the mask keeps k.
    const scalar = (x: T) => g.raw("Reshape", [x, i64([], [0])], "int64", []);
    const K = scalar(g.raw("Shape", [mask], "int64", [1], { start: 1, end: 2 }));
    const Sn = scalar(g.raw("Shape", [ids], "int64", [1], { start: 1, end: 2 }));
    const zero = i64([0], []);
    const one = i64([1], []);
    const keys = g.raw("Range", [zero, K, one], "int64", ["K"]);
    const queries = g.raw(
      "Add",
      [g.raw("Range", [zero, Sn, one], "int64", [S]), g.raw("Sub", [K, Sn], "int64", [])],
      "int64",
      [S],
    );
    const causal = g.raw(
      "LessOrEqual",
      [keys, g.raw("Unsqueeze", [queries, i64([1])], "int64", [S, 1])],
      "bool",
      [S, "K"],
    );
    const kept = g.raw("Cast", [mask], "bool", ["B", "K"], { to: elemType("bool") });
    const kept5 = g.raw("Unsqueeze", [kept, i64([1, 2, 3])], "bool", ["B", 1, 1, 1, "K"]);
    const allowed = g.raw("And", [causal, kept5], "bool", ["B", 1, 1, S, "K"]);
    const bias = g.raw("Where", [allowed, g.scalar(0), g.scalar(MASKED)], f, ["B", 1, 1, S, "K"]);
    return {
      cos4: g.raw("Cos", [emb4], f, ["B", 1, S, hd]),
      sin4: g.raw("Sin", [emb4], f, ["B", 1, S, hd]),
      bias,
    };
  }

  // Gemma-2's sliding layers also mask the keys a window or more behind the query: query p sees key
  // k iff p − k < window, counted in cache slots as transformers does. Query s is slot K − S + s in
  // every graph (logits and loss: K = S; a decode step: the past, then the new tokens), so the band
  // needs only the bias's shape. Left padding precedes every real token, so slots and positions
  // give the same window.
  let slidingBias: T | undefined;
  const biasOf = (layer: number): T => {
    if (!slidingLayer(c, layer)) return bias;
    slidingBias ??= windowed(bias, c.slidingWindow!);
    return slidingBias;
  };

  function windowed(full: T, window: number): T {
    const i64 = (v: number[], dims?: number[]) => g.const(v, "int64", dims);
    const size = (axis: number) =>
      g.raw(
        "Reshape",
        [g.raw("Shape", [full], "int64", [1], { start: axis, end: axis + 1 }), i64([], [0])],
        "int64",
        [],
      );
    const Sn = size(3);
    const K = size(4);
    const zero = i64([0], []);
    const one = i64([1], []);
    const keys = g.raw("Range", [zero, K, one], "int64", ["K"]);
    // The lowest key each query sees: its slot K − S + s, less window − 1.
    const first = g.raw("Sub", [K, g.raw("Add", [Sn, i64([window - 1], [])], "int64", [])], "int64", []);
    const lowest = g.raw("Add", [g.raw("Range", [zero, Sn, one], "int64", [S]), first], "int64", [S]);
    const lowest2 = g.raw("Unsqueeze", [lowest, i64([1])], "int64", [S, 1]);
    const inBand = g.raw("GreaterOrEqual", [keys, lowest2], "bool", [S, "K"]);
    return g.raw("Where", [inBand, full, g.scalar(MASKED)], full.dtype, ["B", 1, 1, S, "K"]);
  }

  const rmsNorm = (x: T, weight: T): T => {
    const ms = g.reduceMean(g.mul(x, x), [-1], true);
    const scale = arch.normPlusOne ? g.add(weight, g.scalar(1)) : weight;
    return g.mul(g.mul(x, g.rsqrt(g.add(ms, g.scalar(c.rmsNormEps)))), scale);
  };

  // Quantized weights' codes and scales: frozen initializers that stay run-time values (overridable),
  // so no optimizer folds the dequantization into a float copy at session creation; or, where only
  // MatMulNBits reads them, constants that it prepacks.
  const prepack = prepackInt4(spec.quant, g.float, spec.kind === "loss" && trainMode !== "none");
  const qparam = (init: QuantInit): T => {
    let t = params.get(init.name);
    if (!t) {
      t = g.external(init.name, init.dims, { dtype: init.dtype, overridable: !prepack });
      frozen.push(init.name);
      params.set(init.name, t);
    }
    return t;
  };

  const lin = (x: T, layer: number, target: string): T => {
    const { inF, outF } = linearShape(c, target);
    const name = linearWeightName(layer, target);
    const y = spec.quant
      ? quantLinear(g, x, name, spec.quant, outF, inF, qparam, prepack)
      : dense(x, w(name, [outF, inF]));
    const lora = spec.lora;
    if (!lora || !lora.targets.includes(target)) return y;
    const train = trainMode === "lora";
    const A = param(loraKey(layer, target, "A"), [lora.r, inF], train);
    const B = param(loraKey(layer, target, "B"), [outF, lora.r], train);
    const xd = lora.dropout ? g.mul(x, param(dropoutKey(layer, target), [N, inF], false)) : x;
    return g.add(y, g.mul(g.linear(g.linear(xd, A), B), g.scalar(lora.scaling)));
  };

  // Gemma-2 scales scores by query_pre_attn_scalar^-0.5 (as Python's ** computes it), others by head_dim^-0.5.
  const attnScale = c.queryPreAttnScalar === undefined ? 1 / Math.sqrt(hd) : c.queryPreAttnScalar ** -0.5;
  /** cap·tanh(x / cap) in transformers' order of operations; x itself without a cap. */
  const softcap = (x: T, cap: number | undefined): T =>
    cap === undefined ? x : g.mul(g.tanh(g.div(x, g.scalar(cap))), g.scalar(cap));

  const rope = (x: T): T => g.add(g.mul(x, cos4), g.mul(g.rotateHalf(x), sin4));

  const flatIds = g.raw("Reshape", [ids, g.const([-1], "int64")], "int64", [N]);
  const table = w("model.embed_tokens.weight", [c.vocabSize, H]);
  const rows = g.gather(table, flatIds); // [N, H]
  const e0 =
    table.dtype === g.float ? rows : g.raw("Cast", [rows], g.float, [N, H], { to: elemType(g.float) });
  // Gemma: × sqrt(hidden), rounded to float32 as transformers 5 holds it (a float32 buffer, even in
  // a float64 model: the float64 references match only with this rounding).
  const h0 = arch.embedScale ? g.mul(e0, g.scalar(Math.fround(Math.sqrt(H)))) : e0;
  const embedEnd = g.tapeMark();
  const presents: [T, T][] = [];

  const layer = (i: number, h: T): T => {
    const p = `model.layers.${i}`;
    const x = rmsNorm(h, w(`${p}.input_layernorm.weight`, [H]));
    const heads = (t: T, n: number) => g.transpose(g.reshape(t, ["B", S, n, hd]), [0, 2, 1, 3]); // [B, n, S, hd]
    const q = rope(heads(lin(x, i, "q_proj"), nH));
    let k = rope(heads(lin(x, i, "k_proj"), nKv));
    let v = heads(lin(x, i, "v_proj"), nKv);
    if (spec.kind === "decode") {
      const pk = g.input(hf ? `past_key_values.${i}.key` : `past_key.${i}`, ["B", nKv, "P", hd]);
      const pv = g.input(hf ? `past_key_values.${i}.value` : `past_value.${i}`, ["B", nKv, "P", hd]);
      k = g.concat([pk, k], 2);
      v = g.concat([pv, v], 2);
      presents.push([k, v]);
    }
    // Grouped-query attention without repeating K/V: query head h uses KV head h // rep, so the
    // rep query heads of one KV head are stacked along the row axis.
    const qs = g.mul(g.reshape(q, ["B", nKv, `${rep}*S`, hd]), g.scalar(attnScale));
    // Scores [B, nKv, rep*S, K], soft-capped for Gemma-2.
    const scores = softcap(g.matmul(qs, g.transpose(k, [0, 1, 3, 2])), c.attnLogitSoftcapping);
    const probs = g.softmax(g.add(g.reshape(scores, ["B", nKv, rep, S, "K"]), biasOf(i)), -1);
    const ctx = g.matmul(g.reshape(probs, ["B", nKv, `${rep}*S`, "K"]), v); // [B, nKv, rep*S, hd]
    const merged = g.reshape(g.transpose(g.reshape(ctx, ["B", nH, S, hd]), [0, 2, 1, 3]), [N, nH * hd]);
    // Gemma-2 normalises each block's output before its residual add, and has its own pre-MLP norm.
    const postNorm = (x: T, name: string) =>
      arch.sandwichNorms ? rmsNorm(x, w(`${p}.${name}.weight`, [H])) : x;
    h = g.add(h, postNorm(lin(merged, i, "o_proj"), "post_attention_layernorm"));

    const preMlp = arch.sandwichNorms ? "pre_feedforward_layernorm" : "post_attention_layernorm";
    const y = rmsNorm(h, w(`${p}.${preMlp}.weight`, [H]));
    const gate = lin(y, i, "gate_proj");
    const act = g.mul(arch.activation === "silu" ? g.silu(gate) : g.geluTanh(gate), lin(y, i, "up_proj"));
    return g.add(h, postNorm(lin(act, i, "down_proj"), "post_feedforward_layernorm"));
  };

  const head = c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  const logitsOf = (hidden: T) =>
    softcap(
      dense(rmsNorm(hidden, w("model.norm.weight", [H])), w(head, [c.vocabSize, H])),
      c.finalLogitSoftcapping,
    );

  const gradOut = (t: T, gr: T) => g.output(gr, `grad:${t.name}`);
  if (spec.kind === "loss" && spec.checkpoint) {
    checkpointedLoss();
    return { bytes: g.toBytes(), trainable: trainable.map((t) => t.name), frozen, prepack };
  }
  let h = h0;
  for (let i = 0; i < c.numLayers; i++) h = layer(i, h);

  if (spec.kind === "logits") {
    g.output(logitsOf(h), "logits");
  } else if (spec.kind === "decode" && hf) {
    g.output(g.reshape(logitsOf(h), ["B", S, c.vocabSize]), "logits");
    presents.forEach(([k, v], i) => {
      g.output(k, `present.${i}.key`);
      g.output(v, `present.${i}.value`);
    });
  } else if (spec.kind === "decode") {
    // Only the last position's logits are needed to pick the next token.
    const h3 = g.reshape(h, ["B", S, H]);
    const last = g.raw("Gather", [h3, g.const([-1], "int64", [])], h.dtype, ["B", H], { axis: 1 });
    g.output(logitsOf(last), "logits");
    presents.forEach(([k, v], i) => {
      g.output(k, `present_key.${i}`);
      g.output(v, `present_value.${i}`);
    });
  } else {
    // Logits only where a label is: prompts are long and unlabelled, the head is vocabulary-sized.
    const loss = lossOf(h);
    g.output(loss, "loss");
    if (trainable.length) {
      const grads = g.gradients(loss, trainable);
      grads.forEach((gr, i) => {
        gradOut(trainable[i], gr);
      });
    }
  }
  return { bytes: g.toBytes(), trainable: trainable.map((t) => t.name), frozen, prepack };

  function lossOf(hidden: T): T {
    const pos = g.input("loss_pos", ["M"], { dtype: "int64" });
    const labels = g.input("loss_labels", ["M"], { dtype: "int64" });
    const weightsM = g.input("loss_weights", ["M"]);
    return g.crossEntropy(logitsOf(g.gather(hidden, pos)), labels, weightsM);
  }

  /** The loss graph with per-layer recomputation (see the file comment). */
  function checkpointedLoss(): void {
    const hs = [h0];
    const owned: T[][] = []; // the trainable tensors each layer introduces
    g.noGrad(() => {
      for (let i = 0; i < c.numLayers; i++) {
        const before = trainable.length;
        hs.push(layer(i, hs[i]));
        owned.push(trainable.slice(before));
      }
    });
    const grads = new Map<number, T>();
    const add = (ts: T[], gs: (T | undefined)[]) =>
      ts.forEach((t, k) => {
        const gr = gs[k];
        if (!gr) return;
        const prev = grads.get(t.id);
        grads.set(t.id, prev ? g.add(prev, gr) : gr);
      });
    let mark = g.tapeMark();
    const top = g.leaf(hs[c.numLayers]);
    const loss = lossOf(top);
    g.output(loss, "loss");
    let [dh, ...rest] = g.vjp([[loss, g.scalar(1)]], [top, ...trainable], mark);
    add(trainable, rest);
    for (let i = c.numLayers - 1; i >= 0; i--) {
      mark = g.tapeMark();
      // The rebuilt layer waits for the incoming gradient and for the previous segment's parameter
      // gradients, so the runtime cannot postpone those products (and keep their inputs alive).
      const after = [dh!, ...rest.filter((r): r is T => r !== undefined)];
      const hi = g.leaf(g.add(hs[i], g.zeroAfter(after)));
      [dh, ...rest] = g.vjp([[layer(i, hi), dh!]], [hi, ...trainable], mark);
      add(trainable, rest);
      // Emitting a layer's gradients as soon as they are final keeps the runtime's topological
      // order close to this backward order, so the rebuilt layer's tensors die before the next.
      for (const t of owned[i]) gradOut(t, grads.get(t.id)!);
    }
    add(trainable, g.vjp([[h0, dh!]], trainable, 0, embedEnd));
    const done = new Set(owned.flat().map((t) => t.id));
    for (const t of trainable) {
      if (done.has(t.id)) continue;
      const gr = grads.get(t.id);
      if (!gr) throw new Error(`llama: ${t.name} does not influence the loss`);
      gradOut(t, gr);
    }
  }
}
