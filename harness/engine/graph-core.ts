/**
 * The graph builder's core: ONNX plumbing (inputs, initializers, constants, symbolic dimensions,
 * encoding with dead nodes dropped) and reverse-mode autodiff over a tape (`gradients`, and for
 * activation recomputation `noGrad`, `leaf`, segment `vjp`, `zeroAfter`). The ops live in graph.ts.
 */
import {
  type AttrValue,
  attribute,
  type Dim,
  type DType,
  elemType,
  encodeModel,
  externalTensorProto,
  tensorProto,
  valueInfo,
} from "./onnx.ts";

export type { Dim, DType } from "./onnx.ts";

export interface T {
  readonly id: number;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

type Grads = (T | undefined)[];
interface TapeEntry {
  inputs: T[];
  outputs: T[];
  /** Given the output gradients, return the input gradients (undefined where not needed). */
  vjp: (dys: Grads, need: boolean[]) => Grads;
}

export const OPSET = 18;
export class GraphCore {
  protected nodes: object[] = [];
  protected inputInfos: object[] = [];
  protected outputInfos: object[] = [];
  protected inits: object[] = [];
  protected tape: TapeEntry[] = [];
  protected requires = new Set<number>();
  protected nextId = 0;
  protected dimOrigin = new Map<string, { input: T; axis: number }>();
  protected dimCache = new Map<string, T>();
  protected constCache = new Map<string, T>();
  protected recording = true;
  /** Names the symbolic dimensions get in the model's input and output declarations (see `nameDims`). */
  protected dimNames = new Map<string, string>();

  /** `float` is the element type of every floating tensor: float32 for real runs, float64 for checks. */
  constructor(readonly float: "float32" | "float64" = "float32") {}

  // ── graph plumbing ────────────────────────────────────────────────────────────────────────────

  protected fresh(dtype: DType, shape: readonly Dim[], name?: string): T {
    const id = this.nextId++;
    return { id, name: name ?? `t${id}`, dtype, shape: [...shape] };
  }

  /**
   * Declare the symbolic dimensions of inputs and outputs under other names ("B" as "batch_size"),
   * for runtimes that read them (transformers.js sizes an empty KV cache from its input's dimension
   * names). Inside the graph the builder's own symbols stay; call before declaring inputs.
   */
  nameDims(names: Record<string, string>): void {
    for (const [from, to] of Object.entries(names)) this.dimNames.set(from, to);
  }

  private declared(shape: readonly Dim[]): Dim[] {
    return shape.map((d) => (typeof d === "string" ? (this.dimNames.get(d) ?? d) : d));
  }

  input(name: string, shape: Dim[], opts: { dtype?: DType; trainable?: boolean } = {}): T {
    const t = this.fresh(opts.dtype ?? this.float, shape, name);
    this.inputInfos.push(valueInfo(name, t.dtype, this.declared(shape)));
    shape.forEach((d, axis) => {
      if (typeof d === "string" && !this.dimOrigin.has(d)) this.dimOrigin.set(d, { input: t, axis });
    });
    if (opts.trainable) this.requires.add(t.id);
    return t;
  }

  /**
   * A frozen tensor (never trainable) held by the session as an initializer whose bytes are supplied
   * at session creation under the in-memory file name `name` (see externalTensorProto). `overridable`
   * also lists it as an optional graph input: ORT then treats it as a run-time value, so no optimizer
   * folds it (e.g. Cast of an fp16 weight into a full fp32 copy) or prepacks it; it is never fed.
   */
  external(name: string, shape: number[], opts: { dtype?: DType; overridable?: boolean } = {}): T {
    const t = this.fresh(opts.dtype ?? this.float, shape, name);
    this.inits.push(externalTensorProto(name, t.dtype, shape, name));
    if (opts.overridable) this.inputInfos.push(valueInfo(name, t.dtype, shape));
    return t;
  }

  output(t: T, name: string): void {
    this.node("Identity", [t], [{ dtype: t.dtype, shape: t.shape, name }]);
    this.outputInfos.push(valueInfo(name, t.dtype, this.declared(t.shape)));
  }

  needsGrad(t: T): boolean {
    return this.requires.has(t.id);
  }

  /** Emit one ONNX node; returns its outputs. No tape entry (ops add theirs). */
  protected node(
    op: string,
    inputs: (T | null)[],
    outs: { dtype: DType; shape: readonly Dim[]; name?: string }[],
    attrs: Record<string, AttrValue> = {},
    domain?: string,
  ): T[] {
    const outputs = outs.map((o) => this.fresh(o.dtype, o.shape, o.name));
    this.nodes.push({
      opType: op,
      ...(domain ? { domain } : {}),
      input: inputs.map((t) => (t ? t.name : "")),
      output: outputs.map((t) => t.name),
      attribute: Object.entries(attrs).map(([k, v]) => attribute(k, v)),
    });
    return outputs;
  }

  protected node1(
    op: string,
    inputs: (T | null)[],
    dtype: DType,
    shape: readonly Dim[],
    attrs?: Record<string, AttrValue>,
  ) {
    return this.node(op, inputs, [{ dtype, shape }], attrs)[0];
  }

  /** Record a differentiable op. Outputs need a gradient iff some input does. */
  protected record(inputs: T[], outputs: T[], vjp: TapeEntry["vjp"]): void {
    if (!this.recording || !inputs.some((t) => this.requires.has(t.id))) return;
    for (const o of outputs) this.requires.add(o.id);
    this.tape.push({ inputs, outputs, vjp });
  }

  /** A constant (small tensors only: shapes, axes, scalars). Cached by value. */
  const(values: number[] | bigint[], dtype: DType, dims: number[] = [values.length]): T {
    const key = `${dtype}|${dims.join(",")}|${values.join(",")}`;
    const hit = this.constCache.get(key);
    if (hit) return hit;
    const t = this.fresh(dtype, dims);
    this.inits.push(tensorProto(t.name, dtype, dims, values));
    this.constCache.set(key, t);
    return t;
  }

  scalar(v: number): T {
    return this.const([v], this.float, []);
  }

  protected ints(values: number[]): T {
    return this.const(values, "int64");
  }

  /** A 1-element int64 tensor holding the run-time value of a symbolic dimension ("B", "B*T"). */
  protected dimTensor(d: Dim): T {
    if (typeof d === "number") return this.ints([d]);
    const hit = this.dimCache.get(d);
    if (hit) return hit;
    let t: T;
    if (d.includes("*")) {
      const parts = d.split("*");
      t = parts
        .slice(1)
        .reduce(
          (acc, p) => this.node1("Mul", [acc, this.dimTensor(p)], "int64", [1]),
          this.dimTensor(parts[0]),
        );
    } else if (/^\d+$/.test(d)) {
      t = this.ints([Number(d)]);
    } else {
      const origin = this.dimOrigin.get(d);
      if (!origin) throw new Error(`graph: symbolic dimension "${d}" has no input to read it from`);
      t = this.node1("Shape", [origin.input], "int64", [1], { start: origin.axis, end: origin.axis + 1 });
    }
    this.dimCache.set(d, t);
    return t;
  }

  protected shapeTensor(dims: readonly Dim[]): T {
    if (dims.every((d) => typeof d === "number")) return this.ints(dims as number[]);
    return this.node1(
      "Concat",
      dims.map((d) => this.dimTensor(d)),
      "int64",
      [dims.length],
      { axis: 0 },
    );
  }

  toBytes(): Uint8Array {
    return encodeModel(
      {
        name: "lora_bench",
        node: this.liveNodes(),
        input: this.inputInfos,
        output: this.outputInfos,
        initializer: this.inits,
      },
      OPSET,
    );
  }

  /**
   * The nodes that some output depends on. A dead node is not harmless: the runtime still runs it
   * and, ordering it last, keeps its inputs alive to the end (e.g. a rebuilt layer's own output).
   */
  private liveNodes(): object[] {
    const needed = new Set(this.outputInfos.map((o) => (o as { name: string }).name));
    const keep: object[] = [];
    for (let i = this.nodes.length - 1; i >= 0; i--) {
      const n = this.nodes[i] as { input: string[]; output: string[] };
      if (!n.output.some((o) => needed.has(o))) continue;
      for (const x of n.input) needed.add(x);
      keep.push(n);
    }
    return keep.reverse();
  }

  // ── autodiff ──────────────────────────────────────────────────────────────────────────────────

  /** Emit d loss / d x for each x in wrt (loss must be a scalar). */
  gradients(loss: T, wrt: T[]): T[] {
    if (loss.shape.length !== 0) throw new Error("graph: gradients() needs a scalar loss");
    const grads = this.vjp([[loss, this.scalar(1)]], wrt);
    return wrt.map((w, i) => {
      const g = grads[i];
      if (!g) throw new Error(`graph: ${w.name} does not influence the loss`);
      return g;
    });
  }

  /**
   * Vector-Jacobian product over the tape entries [from, to) (`tapeMark()`s), seeded with
   * [output, its gradient] pairs. Returns the gradient of each `wrt` tensor, undefined where the
   * segment does not reach it. The emitted gradient nodes are not themselves recorded.
   */
  vjp(seeds: [T, T][], wrt: T[], from = 0, to = this.tape.length): (T | undefined)[] {
    const grads = new Map<number, T>(seeds.map(([y, dy]) => [y.id, dy]));
    this.noGrad(() => {
      for (let k = to - 1; k >= from; k--) {
        const e = this.tape[k];
        const dys = e.outputs.map((o) => grads.get(o.id));
        if (dys.every((d) => d === undefined)) continue;
        const need = e.inputs.map((t) => this.requires.has(t.id));
        const dxs = e.vjp(dys, need);
        e.inputs.forEach((x, i) => {
          const dx = dxs[i];
          if (!need[i] || !dx) return;
          const prev = grads.get(x.id);
          grads.set(x.id, prev ? this.node1("Add", [prev, dx], x.dtype, x.shape) : dx);
        });
      }
    });
    return wrt.map((w) => grads.get(w.id));
  }

  /** Where the next recorded op will sit on the tape (the start of a segment for `vjp`). */
  tapeMark(): number {
    return this.tape.length;
  }

  /** Build with the tape paused: nothing inside gets a gradient rule. */
  noGrad<R>(build: () => R): R {
    const was = this.recording;
    this.recording = false;
    try {
      return build();
    } finally {
      this.recording = was;
    }
  }

  /** The same value as `x` under a new identity that needs a gradient: the start of a segment. */
  leaf(x: T): T {
    const t = { ...x, id: this.nextId++ };
    this.requires.add(t.id);
    return t;
  }

  /**
   * An exact float zero [1] that depends on the values of every tensor in `xs`. Adding it to a tensor
   * makes a copy that the runtime can compute only after all of xs exist and cannot merge with the
   * original. NaN-proof: it tests one element of each with IsNaN and multiplies the bool cast by 0.
   */
  zeroAfter(xs: T[]): T {
    const zeros = xs.map((x) => {
      const flat = this.node1("Reshape", [x, this.ints([-1])], x.dtype, ["n"]);
      const first = this.node1("Slice", [flat, this.ints([0]), this.ints([1]), this.ints([0])], x.dtype, [1]);
      const nan = this.node1("IsNaN", [first], "bool", [1]);
      const f = this.node1("Cast", [nan], this.float, [1], { to: elemType(this.float) });
      return this.node1("Mul", [f, this.scalar(0)], this.float, [1]);
    });
    return zeros.reduce((a, z) => this.node1("Add", [a, z], this.float, [1]));
  }

  /** Sum a broadcast gradient back down to the shape of the operand it came from. */
  protected unbroadcast(dy: T, shape: readonly Dim[]): T {
    const lead = dy.shape.length - shape.length;
    const keepAxes: number[] = [];
    shape.forEach((d, i) => {
      if (d === 1 && dy.shape[i + lead] !== 1) keepAxes.push(i + lead);
    });
    let g = dy;
    if (keepAxes.length) g = this.reduce("ReduceSum", g, keepAxes, true);
    if (lead > 0) g = this.reduce("ReduceSum", g, range(lead), false);
    return g;
  }

  protected reduce(op: "ReduceSum" | "ReduceMean", x: T, axes: number[], keepdims: boolean): T {
    const ax = axes.map((a) => (a < 0 ? a + x.shape.length : a));
    const shape = x.shape.flatMap((d, i) => (ax.includes(i) ? (keepdims ? [1] : []) : [d]));
    return this.node1(op, [x, this.ints(ax)], x.dtype, shape, { keepdims: keepdims ? 1 : 0 });
  }

  /** Broadcast g (reduced over `axes`) back to x's shape. */
  protected expandBack(g: T, x: T, axes: number[], keepdims: boolean): T {
    const kept = keepdims
      ? g
      : this.node1(
          "Unsqueeze",
          [g, this.ints(axes)],
          g.dtype,
          x.shape.map((d, i) => (axes.includes(i) ? 1 : d)),
        );
    return this.node1("Expand", [kept, this.shapeTensor(x.shape)], x.dtype, x.shape);
  }
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

export function broadcastShape(a: readonly Dim[], b: readonly Dim[]): Dim[] {
  const n = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < n; i++) {
    const x = a[a.length - n + i] ?? 1;
    const y = b[b.length - n + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === "number" && typeof y === "number")
      throw new Error(`graph: cannot broadcast [${a}] with [${b}]`);
    else out.push(typeof x === "number" ? x : y);
  }
  return out;
}
