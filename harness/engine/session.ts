/**
 * onnxruntime-node sessions: device selection (CPU by default, CUDA when installed and asked for)
 * and typed feeds. A requested provider that is missing is a clear error, never a silent fallback.
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import ort from "onnxruntime-node";
import { UserError } from "../errors.ts";

export type Device = "cpu" | "cuda";

export interface SessionOptions {
  device?: Device;
  /** Intra-op threads for the CPU provider (0 = ORT's default: one per physical core). */
  threads?: number;
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
  if (value === "cuda") return "cuda";
  throw new UserError(`--device: "${value}" is not a device (cpu or cuda)`);
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
  ) {}

  /** Bytes per feed name of the latest run(), so callers can prove what crossed into the session. */
  lastFeedBytes = new Map<string, number>();

  static async create(
    model: Uint8Array,
    opts: SessionOptions & { float64?: boolean; externalData?: ExternalFile[] } = {},
  ): Promise<Session> {
    const device = opts.device ?? "cpu";
    assertDevice(device);
    const inner = await ort.InferenceSession.create(model, {
      externalData: opts.externalData,
      // MLAS would prepack constant Gemm/MatMul weights into packed copies: at TinyLlama's shapes that
      // tripled session creation (46 s vs 16 s) and bought nothing measurable.
      extra: { session: { disable_prepacking: "1" } },
      executionProviders: device === "cuda" ? [{ name: "cuda", deviceId: 0 }] : ["cpu"],
      // Extended fusions (QuickGelu for x·σ(x), …) have float32-only CPU kernels: fp64 check graphs keep
      // the basic level, which still folds constants and removes redundant nodes.
      graphOptimizationLevel: opts.float64 ? "basic" : "all",
      intraOpNumThreads: opts.threads ?? 0,
      interOpNumThreads: 1,
      executionMode: "sequential",
    });
    return new Session(inner, device);
  }

  async run(feeds: Record<string, FeedTensor>, outputs?: string[]): Promise<Record<string, ort.Tensor>> {
    const t: Record<string, ort.Tensor> = {};
    this.lastFeedBytes = new Map();
    for (const [name, f] of Object.entries(feeds)) {
      t[name] = new ort.Tensor(typeOf(f.data), f.data as never, f.dims);
      this.lastFeedBytes.set(name, f.data.byteLength);
    }
    return outputs ? this.inner.run(t, outputs) : this.inner.run(t);
  }

  async release(): Promise<void> {
    await this.inner.release();
  }
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
