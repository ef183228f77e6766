/**
 * A model of what onnxruntime keeps alive while it runs one of our graphs: its default execution order
 * (a reverse depth-first walk from the nodes nobody consumes, the most recently added leaf first, each
 * node's inputs visited highest index first; Graph::ReverseDFSFrom with NodeCompare in 1.30), then
 * each tensor from its producer to its last consumer. Reshape-like ops alias their input. Sizes come
 * from the builder's own shapes, with symbolic dimensions bound by `dims`.
 */
import onnxProto from "onnx-proto";
import { GraphCore } from "../../harness/engine/graph-core.ts";

type Info = { dtype: string; shape: readonly (number | string)[] };
const ALIAS = new Set(["Reshape", "Unsqueeze", "Squeeze", "Identity", "Flatten"]);

/** Build with the builder's tensor shapes recorded (by name), for the walk below. */
export function withShapes<R>(build: () => R): { result: R; shapes: Map<string, Info> } {
  const shapes = new Map<string, Info>();
  const proto = GraphCore.prototype as unknown as { node: (...a: unknown[]) => { name: string }[] };
  const original = proto.node;
  proto.node = function (this: unknown, ...args: unknown[]) {
    const outs = original.apply(this, args) as (Info & { name: string })[];
    for (const o of outs) shapes.set(o.name, { dtype: o.dtype, shape: o.shape });
    return outs;
  };
  try {
    return { result: build(), shapes };
  } finally {
    proto.node = original;
  }
}

/** Peak bytes of live intermediate tensors (graph inputs and initializers not counted). */
export function peakLiveBytes(
  model: Uint8Array,
  shapes: Map<string, Info>,
  dims: Record<string, number>,
): number {
  const nodes = onnxProto.onnx.ModelProto.decode(model).graph!.node!;
  const outputs = new Set(onnxProto.onnx.ModelProto.decode(model).graph!.output!.map((o) => o.name!));
  const dim = (d: number | string) =>
    typeof d === "number"
      ? d
      : d.split("*").reduce((p, x) => p * (/^\d+$/.test(x) ? Number(x) : (dims[x] ?? 0)), 1);
  const bytes = (name: string) => {
    const s = shapes.get(name);
    if (!s) return 0;
    return (
      s.shape.reduce((p: number, d) => p * dim(d), 1) * (s.dtype === "float64" || s.dtype === "int64" ? 8 : 4)
    );
  };
  const producer = new Map<string, number>();
  nodes.forEach((n, i) => {
    for (const o of n.output!) producer.set(o, i);
  });
  const consumed = new Set<number>();
  for (const n of nodes) for (const x of n.input!) if (producer.has(x)) consumed.add(producer.get(x)!);
  // The execution order.
  const stack: [number, boolean][] = nodes
    .map((_, i) => i)
    .filter((i) => !consumed.has(i))
    .map((i) => [i, false]);
  const seen = new Set<number>();
  const order: number[] = [];
  while (stack.length) {
    const [n, leave] = stack.pop()!;
    if (leave) {
      order.push(n);
      continue;
    }
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push([n, true]);
    const ins = [...new Set(nodes[n].input!.flatMap((x) => (producer.has(x) ? [producer.get(x)!] : [])))];
    for (const p of ins.sort((a, b) => a - b)) if (!seen.has(p)) stack.push([p, false]);
  }
  // Lifetimes: an alias keeps its root buffer alive.
  const root = new Map<string, string>();
  for (const n of order) {
    const node = nodes[n];
    const src = node.input![0];
    if (ALIAS.has(node.opType!) && producer.has(src)) root.set(node.output![0], root.get(src) ?? src);
  }
  const lastUse = new Map<string, number>();
  order.forEach((n, k) => {
    for (const x of nodes[n].input!) lastUse.set(root.get(x) ?? x, k);
  });
  for (const o of outputs) lastUse.set(root.get(o) ?? o, order.length);
  let live = 0;
  let peak = 0;
  const freeAt = new Map<number, number>();
  order.forEach((n, k) => {
    for (const o of nodes[n].output!) {
      if (root.has(o)) continue;
      const b = bytes(o);
      live += b;
      const end = lastUse.get(o) ?? k;
      freeAt.set(end, (freeAt.get(end) ?? 0) + b);
    }
    peak = Math.max(peak, live);
    live -= freeAt.get(k) ?? 0;
  });
  return peak;
}
