/**
 * onnxruntime-node sessions: device selection (CPU by default, CUDA when installed and asked for,
 * WebGPU through the bundled Dawn provider) and typed feeds. A requested provider that is missing is a
 * clear error, never a silent fallback.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import { dirname, join } from "node:path";
import ort from "onnxruntime-node";
import { UserError } from "../errors.ts";
import { assertWebgpuDriver, explainWebgpuError } from "./webgpu.ts";

export const DEVICES = ["cpu", "cuda", "webgpu"] as const;
export type Device = (typeof DEVICES)[number];

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads (0 or absent: resolveThreads(), i.e. $LORA_BENCH_THREADS or every core). */
  threads?: number;
  /** Write onnxruntime's profile (one event per node run, with its provider) to files with this prefix. */
  profilePrefix?: string;
}

/** Bytes per tensor name that went host → device (feeds) and device → host (outputs) in one run. */
export interface Transfer {
  up: Record<string, number>;
  down: Record<string, number>;
}

/** Where an output lands: host memory, or (WebGPU) a device buffer that can only be fed back in. */
export type OutputLocation = "cpu" | "gpu-buffer";

export const THREADS_ENV = "LORA_BENCH_THREADS";

/**
 * The intra-op thread count: an explicit positive count (a profile setting), else $LORA_BENCH_THREADS
 * (which the --threads flag sets), else os.availableParallelism(). onnxruntime's own default is one
 * thread per physical core, which is one on a 2-vCPU machine and leaves half of it idle.
 */
export function resolveThreads(explicit?: number): number {
  if (explicit !== undefined && explicit > 0) return explicit;
  const env = process.env[THREADS_ENV];
  if (env !== undefined && env !== "") return threadCount(env, THREADS_ENV);
  return os.availableParallelism();
}

/** The --threads flag: the thread count of every session this process opens from now on. */
export function setThreads(value: string): void {
  process.env[THREADS_ENV] = String(threadCount(value, "--threads"));
}

function threadCount(value: string, what: string): number {
  if (!/^[1-9]\d{0,3}$/.test(value))
    throw new UserError(`${what}: "${value}" is not a thread count (1-9999)`);
  return Number(value);
}

export type Feed = Float32Array | Float64Array | BigInt64Array | Int32Array | Uint8Array;

/** An in-memory external-data file: the bytes of the initializers whose `location` is `path`. */
export interface ExternalFile {
  path: string;
  data: Uint8Array;
}
export interface FeedTensor {
  data: Feed;
  dims: readonly number[];
}

export function parseDevice(value: string | undefined): Device {
  if (value === undefined || value === "cpu") return "cpu";
  if ((DEVICES as readonly string[]).includes(value)) return value as Device;
  throw new UserError(`--device: "${value}" is not a device (${DEVICES.join(", ")})`);
}

/** Where onnxruntime-node keeps its native libraries for this platform. */
function bindingDir(): string {
  const require = createRequire(import.meta.url);
  const pkg = dirname(require.resolve("onnxruntime-node/package.json"));
  return join(pkg, "bin", "napi-v6", process.platform, process.arch);
}

export function cudaAvailable(): boolean {
  return existsSync(join(bindingDir(), "libonnxruntime_providers_cuda.so"));
}

export function assertDevice(device: Device): void {
  if (device === "webgpu") assertWebgpuDriver();
  if (device === "cuda" && !cudaAvailable()) {
    throw new UserError(
      `--device cuda: onnxruntime-node was installed without its CUDA provider (${bindingDir()} has no libonnxruntime_providers_cuda.so); reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 (see README)`,
    );
  }
}

export class Session {
  private constructor(
    readonly inner: ort.InferenceSession,
    readonly device: Device,
    /** Intra-op threads this session runs with. */
    readonly threads: number,
  ) {}

  /** Bytes per feed name of the latest run(), so callers can prove what crossed into the session. */
  lastFeedBytes = new Map<string, number>();

  static async create(
    model: Uint8Array,
    opts: SessionOptions & {
      float64?: boolean;
      externalData?: ExternalFile[];
      /** Folder of external-data files (WeightFolder): the session maps them instead of copying. */
      externalDataDir?: string;
      outputLocation?: Record<string, OutputLocation>;
      /**
       * Let kernels prepack their constant weights at session creation. Graphs whose 4-bit int4 codes
       * are true constants need it: MatMulNBits then repacks them once into MLAS's layout, and without
       * that it dequantizes the whole weight on every run (about 80× slower at batch 1).
       */
      prepack?: boolean;
    } = {},
  ): Promise<Session> {
    const device = opts.device ?? "cpu";
    assertDevice(device);
    if (device === "webgpu" && opts.float64)
      throw new UserError("--device webgpu: WebGPU has no float64; fp64 check graphs run on the cpu device");
    const threads = resolveThreads(opts.threads);
    const inner = await ort.InferenceSession.create(model, {
      externalData: opts.externalData,
      // Unless asked (prepack), no prepacking: MLAS would prepack constant Gemm/MatMul weights into
      // packed copies, which at TinyLlama's shapes tripled session creation (46 s vs 16 s) and bought
      // nothing measurable.
      // Common-subexpression elimination would merge what the graphs compute twice on purpose: the
      // forward and backward upcasts of an fp16 weight (one fp32 copy alive in between) and, with
      // recomputation, a layer's forward pass.
      extra: {
        session: {
          disable_prepacking: opts.prepack ? "0" : "1",
          ...(opts.externalDataDir
            ? { model_external_initializers_file_folder_path: opts.externalDataDir }
            : {}),
        },
        optimization: { disable_specified_optimizers: "CommonSubexpressionElimination" },
      },
      executionProviders: providers(device),
      preferredOutputLocation: device === "webgpu" ? opts.outputLocation : undefined,
      ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
      // Only errors are logged. ORT warns on every WebGPU session that shape ops run on the CPU (by
      // design; placement.ts measures placement instead), and once per initializer that is also a
      // graph input: that is how frozen 4-bit weights stay out of constant folding (Graph.external).
      logSeverityLevel: 3,
      // Extended fusions (QuickGelu for x·σ(x), …) have float32-only CPU kernels: fp64 check graphs keep
      // the basic level, which still folds constants and removes redundant nodes.
      graphOptimizationLevel: opts.float64 ? "basic" : "all",
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
    }).catch((e: unknown) => {
      throw device === "webgpu" ? explainWebgpuError(e) : e;
    });
    return new Session(inner, device, threads);
  }

  /** Bytes that crossed between host and device in the latest run(), per tensor (non-CPU devices only). */
  lastTransfer: Transfer = { up: {}, down: {} };

  /** Feeds are host arrays, or tensors a previous run left on the device (fed back without a copy). */
  async run(
    feeds: Record<string, FeedTensor | ort.Tensor>,
    outputs?: string[],
  ): Promise<Record<string, ort.Tensor>> {
    const t: Record<string, ort.Tensor> = {};
    this.lastFeedBytes = new Map();
    const up: Record<string, number> = {};
    for (const [name, f] of Object.entries(feeds)) {
      if ("location" in f) {
        t[name] = f;
        // A tensor a previous run left on the device crosses nothing.
        this.lastFeedBytes.set(name, f.location === "cpu" ? (f.data as Feed).byteLength : 0);
      } else {
        t[name] = new ort.Tensor(typeOf(f.data), f.data as never, f.dims);
        this.lastFeedBytes.set(name, f.data.byteLength);
      }
      const bytes = this.lastFeedBytes.get(name) ?? 0;
      if (bytes > 0) up[name] = bytes;
    }
    const out = await (outputs ? this.inner.run(t, outputs) : this.inner.run(t));
    if (this.device !== "cpu") {
      const down: Record<string, number> = {};
      for (const [name, v] of Object.entries(out))
        if (v.location === "cpu") down[name] = (v.data as Feed).byteLength;
      this.lastTransfer = { up, down };
    }
    return out;
  }

  /** Flush the profile file (sessions created with profilePrefix). */
  endProfiling(): void {
    this.inner.endProfiling();
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
}

function providers(device: Device): ort.InferenceSession.ExecutionProviderConfig[] {
  if (device === "cuda") return [{ name: "cuda", deviceId: 0 }];
  return [device];
}

function typeOf(d: Feed): "float32" | "float64" | "int64" | "int32" | "bool" {
  if (d instanceof Float32Array) return "float32";
  if (d instanceof Float64Array) return "float64";
  if (d instanceof BigInt64Array) return "int64";
  if (d instanceof Int32Array) return "int32";
  return "bool";
}

export function ortVersion(): string {
  return ort.env.versions.node ?? "unknown";
}
