/**
 * A deliberately naive Llama forward in plain TypeScript (fp64 loops), written from Hugging Face's
 * modeling_llama as an independent truth for the ONNX graphs: explicit repeat_kv, rotate_half on
 * arrays, a causal softmax per query, PEFT's LoRA as x·Aᵀ·Bᵀ·s added to the base output.
 */

import { loraKey, modulePath } from "../../harness/engine/architecture.ts";
import type { LlamaConfig } from "../../harness/engine/checkpoint.ts";
import type { FArr, LoraTensors } from "../../harness/engine/model.ts";

type Mat = number[][];

function linear(x: Mat, W: FArr, out: number): Mat {
  const inF = W.length / out;
  return x.map((row) =>
    Array.from({ length: out }, (_, o) => row.reduce((s, v, j) => s + v * W[o * inF + j], 0)),
  );
}

function rms(x: Mat, w: FArr, eps: number): Mat {
  return x.map((row) => {
    const ms = row.reduce((s, v) => s + v * v, 0) / row.length;
    const r = 1 / Math.sqrt(ms + eps);
    return row.map((v, j) => v * r * w[j]);
  });
}

export function referenceLogits(
  c: LlamaConfig,
  W: Map<string, FArr>,
  ids: number[],
  lora?: LoraTensors,
): Mat {
  const H = c.hiddenSize;
  const hd = c.headDim;
  const T = ids.length;
  const E = W.get("model.embed_tokens.weight")!;
  let h: Mat = ids.map((id) => Array.from(E.subarray(id * H, (id + 1) * H)));
  const proj = (x: Mat, i: number, t: string, out: number): Mat => {
    const y = linear(x, W.get(`model.layers.${i}.${modulePath(t)}.weight`)!, out);
    if (!lora || !lora.spec.targets.includes(t)) return y;
    const A = lora.tensors.get(loraKey(i, t, "A"))!;
    const B = lora.tensors.get(loraKey(i, t, "B"))!;
    const d = linear(linear(x, A, lora.spec.r), B, out);
    return y.map((row, n) => row.map((v, o) => v + d[n][o] * lora.spec.scaling));
  };
  // inv_freq in float32 as HF computes it (Math.fround mirrors that); the angles in float64, as HF
  // computes them with its float32 casts lifted (the float64 references the engine's float64 mode
  // matches; its float32 mode rounds the angle too).
  const f32 = Math.fround;
  const invFreq = Array.from({ length: hd / 2 }, (_, i) => f32(1 / f32(c.ropeTheta ** f32((2 * i) / hd))));
  const rope = (v: number[], pos: number) => {
    const half = hd / 2;
    return v.map((x, j) => {
      const f = pos * invFreq[j % half];
      const rot = j < half ? -v[j + half] : v[j - half];
      return x * Math.cos(f) + rot * Math.sin(f);
    });
  };
  for (let i = 0; i < c.numLayers; i++) {
    const x = rms(h, W.get(`model.layers.${i}.input_layernorm.weight`)!, c.rmsNormEps);
    const q = proj(x, i, "q_proj", c.numHeads * hd);
    const k = proj(x, i, "k_proj", c.numKvHeads * hd);
    const v = proj(x, i, "v_proj", c.numKvHeads * hd);
    const rep = c.numHeads / c.numKvHeads;
    const attn: Mat = Array.from({ length: T }, () => new Array(c.numHeads * hd).fill(0));
    for (let head = 0; head < c.numHeads; head++) {
      const kvh = Math.floor(head / rep); // repeat_kv
      for (let t = 0; t < T; t++) {
        const qt = rope(q[t].slice(head * hd, (head + 1) * hd), t);
        const scores: number[] = [];
        for (let s = 0; s <= t; s++) {
          const ks = rope(k[s].slice(kvh * hd, (kvh + 1) * hd), s);
          scores.push(qt.reduce((acc, val, j) => acc + val * ks[j], 0) / Math.sqrt(hd));
        }
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let s = 0; s <= t; s++)
          for (let j = 0; j < hd; j++) attn[t][head * hd + j] += (e[s] / z) * v[s][kvh * hd + j];
      }
    }
    const o = proj(attn, i, "o_proj", H);
    h = h.map((row, t) => row.map((val, j) => val + o[t][j]));
    const y = rms(h, W.get(`model.layers.${i}.post_attention_layernorm.weight`)!, c.rmsNormEps);
    const gate = proj(y, i, "gate_proj", c.intermediateSize);
    const up = proj(y, i, "up_proj", c.intermediateSize);
    const act = gate.map((row, t) => row.map((g, j) => (g / (1 + Math.exp(-g))) * up[t][j]));
    const d = proj(act, i, "down_proj", H);
    h = h.map((row, t) => row.map((val, j) => val + d[t][j]));
  }
  const head = W.get(c.tieWordEmbeddings ? "model.embed_tokens.weight" : "lm_head.weight")!;
  return linear(rms(h, W.get("model.norm.weight")!, c.rmsNormEps), head, c.vocabSize);
}
