/**
 * Batched KV-cached generation, as Hugging Face's generate does it: prompts left-padded, position ids
 * from the attention mask (cumsum − 1), greedy argmax (first index on ties) or seeded sampling with
 * temperature then top-p, rows that hit EOS stop (and are fed the pad token until all stop).
 */
import { type Rng, rngStream } from "../rng.ts";
import { disposeCache, type FArr, type LlamaModel, type LoraTensors } from "./model.ts";

export interface GenerateOptions {
  maxNewTokens: number;
  eosTokenIds: number[];
  padTokenId?: number;
  /** Omit for greedy decoding (the study's setting). */
  sampling?: { temperature: number; topP: number; seed: number | string };
  lora?: LoraTensors;
  /** Called after each decoding step with the number of rows still running. */
  onStep?: (step: number, running: number) => void;
}

/** New tokens for each prompt (EOS included when produced, nothing after it). */
export async function generate(
  model: LlamaModel,
  prompts: number[][],
  opts: GenerateOptions,
): Promise<number[][]> {
  const B = prompts.length;
  if (B === 0) return [];
  const pad = opts.padTokenId ?? opts.eosTokenIds[0] ?? 0;
  const P0 = Math.max(...prompts.map((p) => p.length));
  const keyMask = prompts.map((p) => Array.from({ length: P0 }, (_, k) => k >= P0 - p.length));
  const rows = prompts.map((p) => [...new Array(P0 - p.length).fill(pad), ...p]);
  // HF: position_ids = cumsum(attention_mask) - 1, with padding positions set to 1.
  const positions = keyMask.map((m) => {
    let n = 0;
    return m.map((real) => (real ? n++ : 1));
  });
  const next = prompts.map((p) => p.length);
  const out: number[][] = prompts.map(() => []);
  const done = new Array(B).fill(false);
  const rng = opts.sampling ? rngStream(opts.sampling.seed, "sampling") : null;
  const V = model.config.vocabSize;

  let step = await model.decodeStep(rows, null, keyMask, positions, opts.lora);
  for (let t = 0; t < opts.maxNewTokens; t++) {
    const tokens = new Array<number>(B);
    for (let b = 0; b < B; b++) {
      const logits = step.logits.subarray(b * V, (b + 1) * V);
      tokens[b] = done[b] ? pad : rng ? sample(logits, opts.sampling!, rng) : argmax(logits);
      if (done[b]) continue;
      out[b].push(tokens[b]);
      if (opts.eosTokenIds.includes(tokens[b])) done[b] = true;
    }
    opts.onStep?.(t + 1, done.filter((d) => !d).length);
    if (done.every(Boolean) || t + 1 === opts.maxNewTokens) break;
    for (const m of keyMask) m.push(true);
    const prev = step.cache;
    step = await model.decodeStep(
      tokens.map((x) => [x]),
      step.cache,
      keyMask,
      next.map((p, b) => [p + out[b].length - 1]),
      opts.lora,
    );
    disposeCache(prev);
  }
  disposeCache(step.cache);
  return out;
}

export function argmax(x: FArr): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if (x[i] > x[best]) best = i;
  return best;
}

/** Temperature, then nucleus (top-p) filtering as HF's TopPLogitsWarper, then one draw. */
function sample(logits: FArr, s: { temperature: number; topP: number }, rng: Rng): number {
  const V = logits.length;
  const scaled = Array.from(logits, (x) => x / s.temperature);
  const order = Array.from({ length: V }, (_, i) => i).sort((a, b) => scaled[a] - scaled[b] || a - b);
  const max = scaled[order[V - 1]];
  const p = order.map((i) => Math.exp(scaled[i] - max));
  const z = p.reduce((a, b) => a + b, 0);
  // Ascending order: drop tokens whose cumulative probability stays ≤ 1 − top_p (always keep the top one).
  let cum = 0;
  const keep = new Array(V).fill(true);
  for (let j = 0; j < V - 1; j++) {
    cum += p[j] / z;
    if (cum <= 1 - s.topP) keep[j] = false;
  }
  const kept = p.map((v, j) => (keep[j] ? v : 0));
  const total = kept.reduce((a, b) => a + b, 0);
  let u = rng.next() * total;
  for (let j = V - 1; j >= 0; j--) {
    u -= kept[j];
    if (u < 0) return order[j];
  }
  return order[V - 1];
}

/** Greedy decoding by full recomputation (no cache): the reference the cached path must equal. */
export async function generateNoCache(
  model: LlamaModel,
  prompt: number[],
  opts: Pick<GenerateOptions, "maxNewTokens" | "eosTokenIds" | "lora">,
): Promise<number[]> {
  const seq = [...prompt];
  const out: number[] = [];
  for (let t = 0; t < opts.maxNewTokens; t++) {
    const [rows] = await model.logits([seq], opts.lora);
    const tok = argmax(rows[rows.length - 1]);
    out.push(tok);
    seq.push(tok);
    if (opts.eosTokenIds.includes(tok)) break;
  }
  return out;
}
