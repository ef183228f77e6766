/**
 * Which execution provider ran each node, read from onnxruntime's profile (sessions created with a
 * profile prefix: one "Node" event per kernel run, whose args name the provider, op and tensor shapes).
 * The profile lists the graph after ORT's optimisations, so fused nodes (FusedMatMul, QuickGelu …)
 * appear as they ran. The verbose log says the same at session creation, but only on stderr.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface TensorInfo {
  type: string;
  shape: number[];
}

export interface PlacedNode {
  name: string;
  op: string;
  provider: string;
  inputs: TensorInfo[];
  outputs: TensorInfo[];
}

export interface Placement {
  nodes: PlacedNode[];
  /** Nodes the device provider ran, over all nodes. */
  fractionOnDevice: number;
  /** Nodes on any other provider (the CPU fallback). */
  fallbacks: PlacedNode[];
  /** Fallbacks that do real work: products, softmax, or anything reading or writing a float tensor. */
  heavyFallbacks: PlacedNode[];
}

/** Ops that must never fall back whatever their size. */
const HEAVY_OPS = new Set([
  "MatMul",
  "FusedMatMul",
  "Gemm",
  "Softmax",
  "LogSoftmax",
  "Attention",
  "MultiHeadAttention",
  "GroupQueryAttention",
]);

const FLOAT_TYPES = new Set(["float", "float16", "double", "bfloat16"]);

interface ProfileEvent {
  cat?: string;
  name?: string;
  args?: {
    op_name?: string;
    provider?: string;
    input_type_shape?: Record<string, number[]>[];
    output_type_shape?: Record<string, number[]>[];
  };
}

function tensors(list: Record<string, number[]>[] | undefined): TensorInfo[] {
  return (list ?? []).map((t) => {
    const [type, shape] = Object.entries(t)[0] ?? ["unknown", []];
    return { type, shape };
  });
}

/** Nodes of one profile, once each (a session run several times repeats every node). */
export function parseProfile(events: unknown): PlacedNode[] {
  if (!Array.isArray(events)) throw new Error("placement: a profile is a JSON array of events");
  const seen = new Map<string, PlacedNode>();
  for (const e of events as ProfileEvent[]) {
    if (e.cat !== "Node" || !e.name?.endsWith("_kernel_time") || !e.args?.provider) continue;
    const name = e.name.slice(0, -"_kernel_time".length);
    if (seen.has(name)) continue;
    seen.set(name, {
      name,
      op: e.args.op_name ?? "unknown",
      provider: e.args.provider,
      inputs: tensors(e.args.input_type_shape),
      outputs: tensors(e.args.output_type_shape),
    });
  }
  return [...seen.values()];
}

export function isHeavy(n: PlacedNode): boolean {
  return HEAVY_OPS.has(n.op) || [...n.inputs, ...n.outputs].some((t) => FLOAT_TYPES.has(t.type));
}

export function summarisePlacement(
  nodes: PlacedNode[],
  deviceProvider = "WebGpuExecutionProvider",
): Placement {
  const fallbacks = nodes.filter((n) => n.provider !== deviceProvider);
  return {
    nodes,
    fractionOnDevice: nodes.length ? (nodes.length - fallbacks.length) / nodes.length : 0,
    fallbacks,
    heavyFallbacks: fallbacks.filter(isHeavy),
  };
}

/** Profiles written into dir (by LlamaModel's profileDir), keyed by their file-name prefix (loss-0, decode-2 …). */
export function readProfiles(dir: string): Map<string, PlacedNode[]> {
  const out = new Map<string, PlacedNode[]>();
  for (const f of readdirSync(dir).sort()) {
    const m = f.match(/^(.+?)_\d{4}-\d{2}-\d{2}_.*\.json$/);
    if (!m) continue;
    out.set(m[1], parseProfile(JSON.parse(readFileSync(join(dir, f), "utf8"))));
  }
  return out;
}

/** "Shape(int64[1,4]) → CPUExecutionProvider" lines for a report or a failing test. */
export function describeNodes(nodes: PlacedNode[]): string[] {
  const sig = (ts: TensorInfo[]) => ts.map((t) => `${t.type}[${t.shape.join(",")}]`).join(", ");
  return nodes.map((n) => `${n.op}(${sig(n.inputs)}) → ${sig(n.outputs)} on ${n.provider}`);
}
