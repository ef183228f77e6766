/**
 * RoPE settings from config.json as transformers 4 (`rope_theta` + `rope_scaling`) and 5
 * (`rope_parameters`) write them, and the inverse frequencies as transformers computes them.
 */

/** Frequency scaling the engine implements; `null` is plain RoPE. */
export type RopeScaling =
  | { type: "linear"; factor: number }
  | {
      type: "llama3";
      factor: number;
      lowFreqFactor: number;
      highFreqFactor: number;
      originalMaxPositionEmbeddings: number;
    };

export interface RopeSettings {
  theta: number;
  scaling: RopeScaling | null;
}

const IMPLEMENTED = ["default", "linear", "llama3"];

/**
 * Reads θ and the scaling from a config object. `bad` throws the one-line error; every message names
 * the key it read. Both spellings may be present (a v4 file edited by hand, a v5 file that kept
 * `rope_scaling`) only if they agree.
 */
export function parseRope(c: Record<string, unknown>, bad: (msg: string) => never): RopeSettings {
  const params = ropeObject(c, "rope_parameters", bad);
  const scaling = ropeObject(c, "rope_scaling", bad);
  const merged: Record<string, unknown> = {};
  const from: Record<string, string> = {};
  for (const [key, obj] of [
    ["rope_scaling", scaling],
    ["rope_parameters", params],
  ] as const) {
    for (const [k0, v] of Object.entries(obj ?? {})) {
      const k = k0 === "type" ? "rope_type" : k0; // transformers reads the old "type" as "rope_type"
      if (k in merged && merged[k] !== v) {
        bad(`${key}.${k0} ${JSON.stringify(v)} conflicts with ${from[k]}.${k} ${JSON.stringify(merged[k])}`);
      }
      merged[k] = v;
      from[k] = key;
    }
  }
  if (c.rope_theta !== undefined && c.rope_theta !== null) {
    if ("rope_theta" in merged && merged.rope_theta !== c.rope_theta) {
      bad(`rope_theta ${c.rope_theta} conflicts with ${from.rope_theta}.rope_theta ${merged.rope_theta}`);
    }
    merged.rope_theta = c.rope_theta;
    from.rope_theta ??= "rope_theta";
  }
  const where = (k: string) =>
    from[k] === "rope_theta" ? "rope_theta" : `${from[k] ?? "rope_parameters"}.${k}`;
  const num = (k: string, test: (v: number) => boolean, what: string): number => {
    const v = merged[k];
    if (v === undefined || v === null) bad(`${where(k)} is missing (rope_type ${merged.rope_type})`);
    if (typeof v !== "number" || !Number.isFinite(v) || !test(v)) {
      bad(`${where(k)} must be ${what}, got ${JSON.stringify(v)}`);
    }
    return v as number;
  };
  const theta =
    merged.rope_theta === undefined ? 10000 : num("rope_theta", (v) => v > 0, "a positive number");
  const prf = merged.partial_rotary_factor ?? c.partial_rotary_factor;
  if (prf !== undefined && prf !== null && prf !== 1) {
    bad(`partial_rotary_factor ${JSON.stringify(prf)} is unsupported (RoPE over the whole head only)`);
  }
  const type = merged.rope_type ?? "default";
  if (typeof type !== "string" || !IMPLEMENTED.includes(type)) {
    bad(
      `rope_type ${JSON.stringify(type)} (${from.rope_type}) is unsupported; lora-bench implements ${IMPLEMENTED.join(", ")}`,
    );
  }
  if (type === "default") return { theta, scaling: null };
  const factor = num("factor", (v) => v > 0, "a positive number");
  if (type === "linear") return { theta, scaling: { type, factor } };
  const lowFreqFactor = num("low_freq_factor", (v) => v > 0, "a positive number");
  const highFreqFactor = num("high_freq_factor", (v) => v > lowFreqFactor, `a number above low_freq_factor`);
  const originalMaxPositionEmbeddings = num(
    "original_max_position_embeddings",
    (v) => Number.isSafeInteger(v) && v > 0,
    "a positive integer",
  );
  return {
    theta,
    scaling: { type: "llama3", factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings },
  };
}

function ropeObject(
  c: Record<string, unknown>,
  key: string,
  bad: (msg: string) => never,
): Record<string, unknown> | null {
  const v = c[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== "object" || Array.isArray(v))
    bad(`${key} must be an object or null, got ${JSON.stringify(v)}`);
  const obj = v as Record<string, unknown>;
  for (const [k, inner] of Object.entries(obj)) {
    // transformers 5 nests one dict per attention layer type for models that mix them
    if (inner !== null && typeof inner === "object") {
      bad(`${key}.${k} is a nested object: per-layer-type RoPE is unsupported`);
    }
  }
  return obj;
}

/**
 * Inverse frequencies [headDim/2] as float32, the way transformers computes them: 1/θ^(2i/d) in
 * float32, then the scaling in float32 arithmetic, operation by operation (torch computes
 * `scalar / tensor` as `reciprocal(tensor) * scalar`), so the values match its buffer.
 */
export function ropeInvFreq(headDim: number, rope: RopeSettings): Float32Array {
  const f = Math.fround;
  const half = headDim / 2;
  const inv = new Float32Array(half);
  for (let i = 0; i < half; i++) inv[i] = 1 / f(rope.theta ** f((2 * i) / headDim));
  const s = rope.scaling;
  if (s === null) return inv;
  const factor = f(s.factor);
  if (s.type === "linear") {
    for (let i = 0; i < half; i++) inv[i] = inv[i] / factor;
    return inv;
  }
  // llama3: keep high frequencies, divide low ones by factor, blend the band in between
  const old = f(s.originalMaxPositionEmbeddings);
  const lowWavelen = f(s.originalMaxPositionEmbeddings / s.lowFreqFactor);
  const highWavelen = f(s.originalMaxPositionEmbeddings / s.highFreqFactor);
  const lo = f(s.lowFreqFactor);
  const span = f(s.highFreqFactor - s.lowFreqFactor);
  for (let i = 0; i < half; i++) {
    const x = inv[i];
    const wavelen = f(f(1 / x) * f(2 * Math.PI));
    if (wavelen > lowWavelen) inv[i] = x / factor;
    else if (!(wavelen < highWavelen)) {
      const smooth = f(f(f(f(1 / wavelen) * old) - lo) / span);
      inv[i] = f(f(f(1 - smooth) * x) / factor) + f(smooth * x);
    }
  }
  return inv;
}

/** The settings as transformers 4 writes them (`rope_theta` + `rope_scaling`), for saved checkpoints. */
export function ropeConfigFields(rope: RopeSettings): { rope_theta: number; rope_scaling: unknown } {
  const s = rope.scaling;
  if (s === null) return { rope_theta: rope.theta, rope_scaling: null };
  if (s.type === "linear")
    return { rope_theta: rope.theta, rope_scaling: { rope_type: "linear", factor: s.factor } };
  return {
    rope_theta: rope.theta,
    rope_scaling: {
      rope_type: "llama3",
      factor: s.factor,
      low_freq_factor: s.lowFreqFactor,
      high_freq_factor: s.highFreqFactor,
      original_max_position_embeddings: s.originalMaxPositionEmbeddings,
    },
  };
}
