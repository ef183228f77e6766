/**
 * A loaded Llama with its sessions: hands the weights to the graphs from llama.ts and feeds rotary
 * tables, attention biases and LoRA tensors. Frozen weights enter each session once, at creation, as
 * external data; no run() carries them. By default they go to disk first (weight-file.ts) and the
 * model drops its own arrays: sessions map the files, so the CPU holds one copy of the weights, shared
 * by every session. Handed over from memory instead, onnxruntime-node 1.30 copies them into each
 * session, hence also `oneSession` (sessions.ts). Only full fine-tuning feeds the weights on every run
 * (and then keeps them in memory).
 */
import { join } from "node:path";
import type ort from "onnxruntime-node";
import { linearShape, llamaWeightNames, loraShapes } from "./architecture.ts";
import { type Checkpoint, type LlamaConfig, loadLlamaCheckpoint } from "./checkpoint.ts";
import { type BuiltGraph, buildLlamaGraph, dropoutKey, type LoraGraphSpec, MASKED } from "./llama.ts";
import { QuantStore } from "./quant/store.ts";
import type { QuantTensor, WeightQuant } from "./quant/types.ts";
import { ropeInvFreq } from "./rope.ts";
import {
  type Device,
  type Feed,
  type FeedTensor,
  type OutputLocation,
  resolveThreads,
  Session,
  type Transfer,
} from "./session.ts";
import { type GraphKind, type PooledSession, SessionPool, type SessionSpec } from "./sessions.ts";
import { defaultStorage, type WeightStorage } from "./storage.ts";
import { collectGarbage, WeightFolder } from "./weight-file.ts";

export type FArr = Float32Array | Float64Array;

export interface LoraTensors {
  spec: LoraGraphSpec;
  tensors: Map<string, FArr>;
}

export interface ModelOptions {
  device?: Device;
  threads?: number;
  /**
   * At most one session alive: opening one (e.g. decoding after training) releases the others first.
   * Each session holds its own copy of the frozen weights (on CUDA always; on CPU onnxruntime-node
   * copies in-memory initializers too), so this bounds weight memory to one copy per device.
   */
  oneSession?: boolean;
  /** Profile every session into this directory (files named by graph kind); see placement.ts. */
  profileDir?: string;
  /**
   * float16 storage (Checkpoint.half, or halfStorage()): weight matrices as IEEE half bits, the
   * sessions' initializers; `weights` then holds only the norm vectors.
   */
  half?: Map<string, Uint16Array>;
  /**
   * Hold every decoder linear in 4 bits (QLoRA). The model quantizes them at construction and deletes
   * their float arrays from `weights`, so no float copy outlives it; embeddings, norms and the head stay.
   */
  quant?: WeightQuant;
  /** The decoder linears already quantized with `quant` (then `weights` need not hold them). */
  quantized?: Map<string, QuantTensor>;
  /**
   * The model may empty the `weights` (and `half`) maps it is given as weights move to disk, which
   * frees their memory once nothing else holds them (openLlama). Otherwise it keeps maps of its own
   * and the caller's stay whole.
   */
  ownsWeights?: boolean;
  /**
   * Hand frozen weights to sessions through files on disk (default) rather than from memory. Either
   * way the numbers are the same; only where the bytes live differs.
   */
  weightFiles?: boolean;
}

/** One training micro-batch: token rows (any lengths) and HF labels (-100 = no loss) of the same lengths. */
export interface LossBatch {
  inputIds: number[][];
  labels: number[][];
  /** Divide the summed token loss by this (default: the batch's own label-token count). */
  normaliser?: number;
}

export class LlamaModel {
  private readonly pool: SessionPool;
  /** The weights still in memory: those not yet moved to disk, the norms of float16 storage, … */
  readonly weights: Map<string, FArr>;
  private readonly half?: Map<string, Uint16Array>;
  /** Frozen weights on disk, once a session needed them. */
  private folder?: WeightFolder;
  /** Names whose array this model dropped after writing it (read back for full fine-tuning). */
  private onDisk = new Set<string>();
  /** Full fine-tuning feeds the weights and changes them: from then on they stay in memory. */
  private fed = false;
  /** Weights converted to the graph's float type; they back live sessions, so they stay referenced. */
  private converted = new Map<string, FArr>();
  private shapes?: Map<string, number[]>;
  readonly float: "float32" | "float64";
  /** Bytes moved between host and device by the latest run, per tensor (empty on the cpu device). */
  lastTransfer: Transfer = { up: {}, down: {} };
  private profiled = 0;

  constructor(
    readonly config: LlamaConfig,
    weights: Map<string, FArr>,
    readonly opts: ModelOptions = {},
  ) {
    this.weights = opts.ownsWeights ? weights : new Map(weights);
    this.half = opts.ownsWeights || !opts.half ? opts.half : new Map(opts.half);
    weights = this.weights;
    const first = weights.values().next().value;
    this.float = first instanceof Float64Array ? "float64" : "float32";
    this.storage = this.half?.size ? "float16" : "float32";
    if (this.storage === "float16" && this.float === "float64")
      throw new Error("model: float16 storage needs float32 weights (float64 graphs are for checks)");
    this.pool = new SessionPool((spec) => this.open(spec), opts.oneSession);
    if (opts.quant) {
      if (this.storage === "float16")
        throw new Error(
          "model: 4-bit weights are quantized from float32 weights; load them with float32 storage",
        );
      this.quant = new QuantStore(opts.quant, config, weights, this.float, opts.quantized);
    }
  }

  /** The 4-bit linears' initializer bytes (with `quant`). */
  private readonly quant?: QuantStore;

  /** How the weight matrices are held: float32, or float16 cast up inside the graphs. */
  readonly storage: WeightStorage;

  private session(spec: SessionSpec): Promise<PooledSession> {
    return this.pool.get(spec);
  }

  private async open(spec: SessionSpec): Promise<PooledSession> {
    if (this.disposed) throw new Error("model: disposed; open the checkpoint again");
    if (spec.trainable === "all" && this.storage === "float16")
      throw new Error("model: full fine-tuning updates float32 weights; load them with float32 storage");
    const graph = this.graph(spec);
    if (spec.trainable === "all") this.readBack();
    const files = this.opts.weightFiles !== false && !this.fed;
    if (files) this.toDisk(graph.frozen);
    const session = await Session.create(graph.bytes, {
      ...this.opts,
      float64: this.float === "float64",
      prepack: graph.prepack,
      externalData: files
        ? undefined
        : graph.frozen.map((name) => ({ path: name, data: this.bytesOf(name) })),
      externalDataDir: files ? this.folder?.dir : undefined,
      outputLocation: spec.kind === "decode" ? this.cacheLocation() : undefined,
      profilePrefix: this.opts.profileDir && join(this.opts.profileDir, `${spec.kind}-${this.profiled++}`),
    });
    return { session, graph, kind: spec.kind };
  }

  /**
   * Write the frozen weights a graph needs to disk (those not there yet) and drop the arrays that
   * held them, then collect them, so that their memory is gone before any session maps the files.
   * Only arrays the model owns go, and not one that the graph sees converted (float32 weights in a
   * float64 check graph): its file holds the conversion.
   */
  private toDisk(names: string[]): void {
    const todo = names.filter((n) => !this.folder?.has(n));
    if (!todo.length) return;
    this.folder ??= new WeightFolder(this);
    for (const name of todo) {
      this.folder.write(name, this.bytesOf(name));
      this.converted.delete(name);
      this.quant?.forget(name);
      // Arrays the caller also holds would not be freed: only a model that owns its maps drops them.
      if (!this.opts.ownsWeights) continue;
      this.half?.delete(name);
      const wv = this.weights.get(name);
      if (wv && this.cast(wv) === wv) {
        this.weights.delete(name);
        this.onDisk.add(name);
      }
    }
    collectGarbage();
  }

  /** Before full fine-tuning: every weight back in memory, the files gone (they would go stale). */
  private readBack(): void {
    this.fed = true;
    for (const name of this.onDisk) {
      const b = this.folder?.read(name);
      if (!b) continue;
      this.weights.set(
        name,
        this.float === "float64" ? new Float64Array(b.buffer) : new Float32Array(b.buffer),
      );
    }
    this.onDisk.clear();
    this.folder?.dispose();
    this.folder = undefined;
  }

  /** Bytes of frozen weights on disk for the sessions (0 before the first session, or when fed). */
  get weightFileBytes(): number {
    return this.folder?.bytes ?? 0;
  }

  /** This model's graph of a kind, as its sessions get it (frozen weights from `bytesOf`). */
  graph(spec: SessionSpec): BuiltGraph {
    return buildLlamaGraph({
      ...spec,
      config: this.config,
      float: this.float,
      storage: this.storage,
      quant: this.opts.quant,
    });
  }

  /** A byte view of a frozen weight as the graphs take it: float type, half bits, or 4-bit codes. */
  bytesOf(name: string): Uint8Array {
    if (this.folder?.has(name) && !this.weights.has(name)) return this.folder.read(name);
    const q = this.quant?.get(name);
    if (q) return q;
    const h = this.half?.get(name);
    if (h) return new Uint8Array(h.buffer, h.byteOffset, h.byteLength);
    let x = this.converted.get(name);
    if (!x) {
      const wv = this.weights.get(name);
      if (!wv) throw new Error(`model: the graph needs weight ${name}, which the checkpoint lacks`);
      x = this.cast(wv) as FArr;
      if (x !== wv) this.converted.set(name, x);
    }
    return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  }

  /** On WebGPU the KV cache stays in device buffers between decode steps; logits come down. */
  private cacheLocation(): Record<string, OutputLocation> | undefined {
    if (this.opts.device !== "webgpu") return undefined;
    const loc: Record<string, OutputLocation> = {};
    for (let i = 0; i < this.config.numLayers; i++) {
      loc[`present_key.${i}`] = "gpu-buffer";
      loc[`present_value.${i}`] = "gpu-buffer";
    }
    return loc;
  }

  private async run(session: Session, feeds: Record<string, FeedTensor | ort.Tensor>) {
    const out = await session.run(feeds);
    this.lastTransfer = session.lastTransfer;
    return out;
  }

  /** Intra-op threads every session of this model runs with (for reports). */
  get threads(): number {
    return resolveThreads(this.opts.threads);
  }

  private alloc(n: number): FArr {
    return this.float === "float64" ? new Float64Array(n) : new Float32Array(n);
  }

  /** Feeds for whichever weights and LoRA tensors the session's graph takes as inputs. */
  private paramFeeds(session: Session, lora?: LoraTensors): Record<string, FeedTensor> {
    const feeds: Record<string, FeedTensor> = {};
    for (const name of session.inner.inputNames) {
      const wv = this.weights.get(name) ?? lora?.tensors.get(name);
      if (wv) feeds[name] = { data: this.cast(wv), dims: this.dimsOf(name, lora) };
    }
    return feeds;
  }

  private cast(x: FArr): Feed {
    if (this.float === "float64" && x instanceof Float32Array) return Float64Array.from(x);
    if (this.float === "float32" && x instanceof Float64Array) return Float32Array.from(x);
    return x;
  }

  /** Shape of a fed weight or LoRA tensor, from the architecture's tables. */
  private dimsOf(name: string, lora?: LoraTensors): number[] {
    if (!this.shapes) {
      this.shapes = new Map(llamaWeightNames(this.config).map((t) => [t.name, t.shape]));
      if (this.config.tieWordEmbeddings)
        this.shapes.set("lm_head.weight", [this.config.vocabSize, this.config.hiddenSize]);
    }
    const known = this.shapes.get(name);
    if (known) return known;
    const spec = lora && { r: lora.spec.r, targetModules: lora.spec.targets };
    const lo = spec && loraShapes(this.config, spec).find((t) => t.key === name);
    if (!lo) throw new Error(`model: no shape for ${name}`);
    return lo.shape;
  }

  /**
   * cos/sin tables [B, S, hd] for the given positions, computed as HF does (float32 inv_freq, scaled).
   * transformers forms the angle in float32; a float64 model keeps it in float64, as transformers does
   * with its float32 casts lifted (the float64 references), since a float32 angle alone moves a float64
   * training trace by 5e-8.
   */
  ropeTables(positions: number[][]): { cos: FArr; sin: FArr } {
    const hd = this.config.headDim;
    const half = hd / 2;
    const B = positions.length;
    const S = positions[0]?.length ?? 0;
    const invFreq = ropeInvFreq(hd, { theta: this.config.ropeTheta, scaling: this.config.ropeScaling });
    const cos = this.alloc(B * S * hd);
    const sin = this.alloc(B * S * hd);
    for (let b = 0; b < B; b++) {
      for (let s = 0; s < S; s++) {
        const base = (b * S + s) * hd;
        for (let i = 0; i < half; i++) {
          const angle = positions[b][s] * invFreq[i];
          const f = this.float === "float64" ? angle : Math.fround(angle);
          const cv = Math.cos(f);
          const sv = Math.sin(f);
          cos[base + i] = cos[base + i + half] = cv;
          sin[base + i] = sin[base + i + half] = sv;
        }
      }
    }
    return { cos, sin };
  }

  /** Additive attention bias [B,1,1,S,K]: query s of row b sees key k iff allowed(b, s, k). */
  private bias(B: number, S: number, K: number, allowed: (b: number, s: number, k: number) => boolean): FArr {
    const out = this.alloc(B * S * K);
    for (let b = 0; b < B; b++)
      for (let s = 0; s < S; s++)
        for (let k = 0; k < K; k++) out[(b * S + s) * K + k] = allowed(b, s, k) ? 0 : MASKED;
    return out;
  }

  /** Right-pad rows to one length. Returns ids, the per-row lengths and the padded length. */
  private pad(rows: number[][], fill = 0): { ids: BigInt64Array; lens: number[]; T: number } {
    const T = Math.max(...rows.map((r) => r.length));
    const ids = new BigInt64Array(rows.length * T).fill(BigInt(fill));
    rows.forEach((r, b) => {
      r.forEach((x, t) => {
        ids[b * T + t] = BigInt(x);
      });
    });
    return { ids, lens: rows.map((r) => r.length), T };
  }

  /** Causal, right-padded inputs shared by the logits and loss graphs. */
  private causalFeeds(rows: number[][]): { feeds: Record<string, FeedTensor>; T: number; lens: number[] } {
    const { ids, lens, T } = this.pad(rows);
    const B = rows.length;
    const positions = rows.map(() => Array.from({ length: T }, (_, t) => t));
    const { cos, sin } = this.ropeTables(positions);
    const hd = this.config.headDim;
    const feeds: Record<string, FeedTensor> = {
      input_ids: { data: ids, dims: [B, T] },
      rope_cos: { data: cos, dims: [B, T, hd] },
      rope_sin: { data: sin, dims: [B, T, hd] },
      attn_bias: { data: this.bias(B, T, T, (b, s, k) => k <= s && k < lens[b]), dims: [B, 1, 1, T, T] },
    };
    return { feeds, T, lens };
  }

  /** Logits at every position of one or more sequences: [row][position][vocab]. */
  async logits(rows: number[][], lora?: LoraTensors): Promise<Float64Array[][]> {
    const { session } = await this.session({
      kind: "logits",
      lora: lora && { ...lora.spec, dropout: false },
    });
    const { feeds, T, lens } = this.causalFeeds(rows);
    const out = await this.run(session, { ...feeds, ...this.paramFeeds(session, lora) });
    const data = out.logits.data as FArr;
    const V = this.config.vocabSize;
    return rows.map((_, b) =>
      Array.from({ length: lens[b] }, (_, t) =>
        Float64Array.from(data.subarray((b * T + t) * V, (b * T + t + 1) * V)),
      ),
    );
  }

  /**
   * Loss (HF causal-LM: logits at t predict token t+1, label -100 ignored) and the gradients of the
   * trainable tensors. `trainable` = "lora" (the adapter) or "all" (every weight, full fine-tuning).
   * Dropout masks, when given, are keyed by dropoutKey(layer, target) and shaped [B*T, in].
   */
  async lossAndGrads(
    batch: LossBatch,
    opts: {
      lora?: LoraTensors;
      trainable?: "lora" | "all" | "none";
      masks?: Map<string, FArr>;
      /** Recompute each layer in the backward pass (same result, one layer's activations alive). */
      checkpointing?: boolean;
    } = {},
  ): Promise<{ loss: number; grads: Map<string, FArr>; tokens: number; padded: number }> {
    const trainable = opts.trainable ?? (opts.lora ? "lora" : "none");
    const spec = opts.lora ? { ...opts.lora.spec, dropout: Boolean(opts.masks) } : undefined;
    const checkpoint = Boolean(opts.checkpointing) && trainable !== "none";
    const { session, graph } = await this.session({ kind: "loss", lora: spec, trainable, checkpoint });
    const { feeds, T } = this.causalFeeds(batch.inputIds);
    const pos: bigint[] = [];
    const lab: bigint[] = [];
    batch.labels.forEach((row, b) => {
      if (row.length !== batch.inputIds[b].length) throw new Error("labels and input ids differ in length");
      for (let t = 0; t + 1 < row.length; t++) {
        if (row[t + 1] === -100) continue;
        pos.push(BigInt(b * T + t));
        lab.push(BigInt(row[t + 1]));
      }
    });
    const M = pos.length;
    const norm = batch.normaliser ?? M;
    const weights = this.alloc(M).fill(M && 1 / norm);
    feeds.loss_pos = { data: BigInt64Array.from(pos), dims: [M] };
    feeds.loss_labels = { data: BigInt64Array.from(lab), dims: [M] };
    feeds.loss_weights = { data: weights, dims: [M] };
    if (opts.masks) {
      for (const name of session.inner.inputNames) {
        if (!name.startsWith("dropout.")) continue;
        const m = opts.masks.get(name);
        if (!m) throw new Error(`missing dropout mask ${name}`);
        feeds[name] = {
          data: this.cast(m),
          dims: [batch.inputIds.length * T, m.length / (batch.inputIds.length * T)],
        };
      }
    }
    const out = await this.run(session, { ...feeds, ...this.paramFeeds(session, opts.lora) });
    const grads = new Map<string, FArr>();
    for (const name of graph.trainable) grads.set(name, out[`grad:${name}`].data as FArr);
    return { loss: (out.loss.data as FArr)[0], grads, tokens: M, padded: batch.inputIds.length * T };
  }

  /** Names and per-row sizes of the dropout masks a LoRA loss graph takes: [key, in features]. */
  dropoutInputs(spec: LoraGraphSpec): [string, number][] {
    const out: [string, number][] = [];
    for (let i = 0; i < this.config.numLayers; i++)
      for (const t of spec.targets) out.push([dropoutKey(i, t), linearShape(this.config, t).inF]);
    return out;
  }

  /**
   * One KV-cached step. `rows` holds the new tokens per row (all the same count S; left-padded
   * prompts for prefill), `past` the cache (length P), `keyMask[b][k]` whether key k (0..P+S-1) is
   * a real token, `positions[b][s]` the position ids of the new tokens.
   */
  async decodeStep(
    rows: number[][],
    past: KvCache | null,
    keyMask: boolean[][],
    positions: number[][],
    lora?: LoraTensors,
  ): Promise<{ logits: FArr; cache: KvCache }> {
    const { session } = await this.session({
      kind: "decode",
      lora: lora && { ...lora.spec, dropout: false },
    });
    const c = this.config;
    const B = rows.length;
    const S = rows[0].length;
    const P = past?.length ?? 0;
    const K = P + S;
    const { cos, sin } = this.ropeTables(positions);
    const ids = BigInt64Array.from(rows.flat().map((x) => BigInt(x)));
    const feeds: Record<string, FeedTensor | ort.Tensor> = {
      input_ids: { data: ids, dims: [B, S] },
      rope_cos: { data: cos, dims: [B, S, c.headDim] },
      rope_sin: { data: sin, dims: [B, S, c.headDim] },
      attn_bias: {
        data: this.bias(B, S, K, (b, s, k) => k <= P + s && keyMask[b][k]),
        dims: [B, 1, 1, S, K],
      },
      ...this.paramFeeds(session, lora),
    };
    const kvDims = [B, c.numKvHeads, P, c.headDim];
    const kv = (x: KvTensor | undefined): FeedTensor | ort.Tensor =>
      x === undefined || ArrayBuffer.isView(x) ? { data: x ?? this.alloc(0), dims: kvDims } : x;
    for (let i = 0; i < c.numLayers; i++) {
      feeds[`past_key.${i}`] = kv(past?.keys[i]);
      feeds[`past_value.${i}`] = kv(past?.values[i]);
    }
    const out = await this.run(session, feeds);
    // Device-resident outputs stay tensors (their data cannot be read back: onnxruntime-node has no download).
    const keep = (t: ort.Tensor): KvTensor => (t.location === "gpu-buffer" ? t : (t.data as FArr));
    const keys: KvTensor[] = [];
    const values: KvTensor[] = [];
    for (let i = 0; i < c.numLayers; i++) {
      keys.push(keep(out[`present_key.${i}`]));
      values.push(keep(out[`present_value.${i}`]));
    }
    return { logits: out.logits.data as FArr, cache: { length: K, keys, values } };
  }

  /** Write the profiles of every session so far (models created with profileDir). */
  async endProfiling(): Promise<void> {
    for (const s of await this.pool.live()) s.session.endProfiling();
  }

  /**
   * Release sessions (all, or those of one graph kind: "loss" before decoding, …) and their memory.
   * The next call that needs one creates it again.
   */
  async release(kind?: GraphKind): Promise<void> {
    await this.pool.release(kind);
  }

  /** Release every session and remove the weight files. The model cannot open sessions afterwards. */
  async dispose(): Promise<void> {
    await this.pool.release();
    this.folder?.dispose();
    this.folder = undefined;
    this.disposed = true;
  }

  private disposed = false;

  /**
   * Checkpoint-weight bytes that the latest run of a `kind` session received as feeds (read from what
   * Session.run turned into tensors). 0 when the weights live in the session.
   */
  async weightBytesFed(kind: GraphKind): Promise<number> {
    let n = 0;
    for (const s of await this.pool.live()) {
      if (s.kind !== kind) continue;
      for (const [name, bytes] of s.session.lastFeedBytes)
        if (this.weights.has(name) || this.half?.has(name) || this.folder?.has(name)) n += bytes;
    }
    return n;
  }

  /** Graph kinds of the live sessions, one entry per session. */
  async liveSessions(): Promise<GraphKind[]> {
    return (await this.pool.live()).map((s) => s.kind);
  }
}

/** A cache tensor: host memory, or a device buffer (WebGPU) that only a later step reads. */
export type KvTensor = FArr | ort.Tensor;

export interface KvCache {
  length: number;
  keys: KvTensor[];
  values: KvTensor[];
}

/** Free a cache's device buffers now rather than at garbage collection (host arrays need nothing). */
export function disposeCache(cache: KvCache): void {
  for (const t of [...cache.keys, ...cache.values]) if (!ArrayBuffer.isView(t)) t.dispose();
}

/**
 * Load a checkpoint into a model with the device's weight storage (float16 on CUDA, read tensor by
 * tensor so no float32 copy exists; float32 elsewhere) unless `storage` says otherwise.
 */
export function openLlama(
  dir: string,
  opts: ModelOptions & { storage?: WeightStorage } = {},
): { checkpoint: Checkpoint; model: LlamaModel } {
  const { storage, ...rest } = opts;
  const checkpoint = loadLlamaCheckpoint(dir, { storage: storage ?? defaultStorage(opts.device) });
  const model = new LlamaModel(checkpoint.config, checkpoint.weights, {
    ...rest,
    half: checkpoint.half,
    ownsWeights: true,
  });
  return { checkpoint, model };
}
