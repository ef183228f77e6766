/**
 * A small typed ONNX graph builder with reverse-mode autodiff.
 *
 * Every op method emits its forward nodes and, when any input needs a gradient, records a
 * vector-Jacobian rule on the tape right beside it. `gradients(loss, wrt)` walks the tape backwards
 * and emits the gradient nodes into the same graph, so one session computes loss and gradients.
 * Gradients are built only along paths from tensors marked trainable: a frozen weight never gets a
 * weight-gradient product. An op without a rule refuses an input that needs a gradient, so a gradient
 * can never be lost silently.
 *
 * For activation recomputation the tape can be paused (`noGrad`), a tensor can start a fresh gradient
 * path (`leaf`), and `vjp` walks one segment of the tape seeded with any output gradients.
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

export class Graph {
  private nodes: object[] = [];
  private inputInfos: object[] = [];
  private outputInfos: object[] = [];
  private inits: object[] = [];
  private tape: TapeEntry[] = [];
  private requires = new Set<number>();
  private nextId = 0;
  private dimOrigin = new Map<string, { input: T; axis: number }>();
  private dimCache = new Map<string, T>();
  private constCache = new Map<string, T>();
  private recording = true;

  /** `float` is the element type of every floating tensor: float32 for real runs, float64 for checks. */
  constructor(readonly float: "float32" | "float64" = "float32") {}

  // ── graph plumbing ────────────────────────────────────────────────────────────────────────────

  private fresh(dtype: DType, shape: readonly Dim[], name?: string): T {
    const id = this.nextId++;
    return { id, name: name ?? `t${id}`, dtype, shape: [...shape] };
  }

  input(name: string, shape: Dim[], opts: { dtype?: DType; trainable?: boolean } = {}): T {
    const t = this.fresh(opts.dtype ?? this.float, shape, name);
    this.inputInfos.push(valueInfo(name, t.dtype, shape));
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
    this.outputInfos.push(valueInfo(name, t.dtype, t.shape as Dim[]));
  }

  needsGrad(t: T): boolean {
    return this.requires.has(t.id);
  }

  /** Emit one ONNX node; returns its outputs. No tape entry (ops add theirs). */
  private node(
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

  private node1(
    op: string,
    inputs: (T | null)[],
    dtype: DType,
    shape: readonly Dim[],
    attrs?: Record<string, AttrValue>,
  ) {
    return this.node(op, inputs, [{ dtype, shape }], attrs)[0];
  }

  /** Record a differentiable op. Outputs need a gradient iff some input does. */
  private record(inputs: T[], outputs: T[], vjp: TapeEntry["vjp"]): void {
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

  private ints(values: number[]): T {
    return this.const(values, "int64");
  }

  /** A 1-element int64 tensor holding the run-time value of a symbolic dimension ("B", "B*T"). */
  private dimTensor(d: Dim): T {
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

  private shapeTensor(dims: readonly Dim[]): T {
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
  private unbroadcast(dy: T, shape: readonly Dim[]): T {
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

  // ── elementwise ───────────────────────────────────────────────────────────────────────────────

  private binary(op: "Add" | "Sub" | "Mul" | "Div", a: T, b: T): T {
    const y = this.node1(op, [a, b], a.dtype, broadcastShape(a.shape, b.shape));
    this.record([a, b], [y], ([dy], need) => {
      const ub = (g: T | undefined, s: readonly Dim[]) => (g ? this.unbroadcast(g, s) : undefined);
      if (!dy) return [];
      switch (op) {
        case "Add":
          return [need[0] ? ub(dy, a.shape) : undefined, need[1] ? ub(dy, b.shape) : undefined];
        case "Sub":
          return [need[0] ? ub(dy, a.shape) : undefined, need[1] ? ub(this.neg(dy), b.shape) : undefined];
        case "Mul":
          return [
            need[0] ? ub(this.mul(dy, b), a.shape) : undefined,
            need[1] ? ub(this.mul(dy, a), b.shape) : undefined,
          ];
        case "Div":
          return [
            need[0] ? ub(this.div(dy, b), a.shape) : undefined,
            need[1] ? ub(this.neg(this.div(this.mul(dy, y), b)), b.shape) : undefined,
          ];
      }
    });
    return y;
  }

  add(a: T, b: T): T {
    return this.binary("Add", a, b);
  }
  sub(a: T, b: T): T {
    return this.binary("Sub", a, b);
  }
  mul(a: T, b: T): T {
    return this.binary("Mul", a, b);
  }
  div(a: T, b: T): T {
    return this.binary("Div", a, b);
  }

  neg(x: T): T {
    const y = this.node1("Neg", [x], x.dtype, x.shape);
    this.record([x], [y], ([dy]) => [dy && this.neg(dy)]);
    return y;
  }

  exp(x: T): T {
    const y = this.node1("Exp", [x], x.dtype, x.shape);
    this.record([x], [y], ([dy]) => [dy && this.mul(dy, y)]);
    return y;
  }

  log(x: T): T {
    const y = this.node1("Log", [x], x.dtype, x.shape);
    this.record([x], [y], ([dy]) => [dy && this.div(dy, x)]);
    return y;
  }

  sqrt(x: T): T {
    const y = this.node1("Sqrt", [x], x.dtype, x.shape);
    this.record([x], [y], ([dy]) => [dy && this.div(this.mul(dy, this.scalar(0.5)), y)]);
    return y;
  }

  /** 1/sqrt(x), the RMSNorm denominator. d/dx = -0.5 · y³. */
  rsqrt(x: T): T {
    const y = this.node1("Reciprocal", [this.node1("Sqrt", [x], x.dtype, x.shape)], x.dtype, x.shape);
    this.record([x], [y], ([dy]) => [
      dy && this.mul(dy, this.mul(this.scalar(-0.5), this.mul(y, this.mul(y, y)))),
    ]);
    return y;
  }

  sigmoid(x: T): T {
    const y = this.node1("Sigmoid", [x], x.dtype, x.shape);
    // dσ = σ(1-σ)
    this.record([x], [y], ([dy]) => [dy && this.mul(dy, this.mul(y, this.sub(this.scalar(1), y)))]);
    return y;
  }

  /** SiLU(x) = x·σ(x), the Llama MLP activation. */
  silu(x: T): T {
    return this.mul(x, this.sigmoid(x));
  }

  // ── reductions and normalisation ──────────────────────────────────────────────────────────────

  private reduce(op: "ReduceSum" | "ReduceMean", x: T, axes: number[], keepdims: boolean): T {
    const ax = axes.map((a) => (a < 0 ? a + x.shape.length : a));
    const shape = x.shape.flatMap((d, i) => (ax.includes(i) ? (keepdims ? [1] : []) : [d]));
    return this.node1(op, [x, this.ints(ax)], x.dtype, shape, { keepdims: keepdims ? 1 : 0 });
  }

  /** Broadcast g (reduced over `axes`) back to x's shape. */
  private expandBack(g: T, x: T, axes: number[], keepdims: boolean): T {
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

  reduceSum(x: T, axes: number[], keepdims = true): T {
    const ax = axes.map((a) => (a < 0 ? a + x.shape.length : a));
    const y = this.reduce("ReduceSum", x, ax, keepdims);
    this.record([x], [y], ([dy]) => [dy && this.expandBack(dy, x, ax, keepdims)]);
    return y;
  }

  reduceMean(x: T, axes: number[], keepdims = true): T {
    const ax = axes.map((a) => (a < 0 ? a + x.shape.length : a));
    const count = ax.reduce((n, a) => {
      const d = x.shape[a];
      if (typeof d !== "number") throw new Error("graph: reduceMean over a symbolic dimension");
      return n * d;
    }, 1);
    const y = this.reduce("ReduceMean", x, ax, keepdims);
    this.record([x], [y], ([dy]) => [
      dy && this.expandBack(this.mul(dy, this.scalar(1 / count)), x, ax, keepdims),
    ]);
    return y;
  }

  softmax(x: T, axis = -1): T {
    const y = this.node1("Softmax", [x], x.dtype, x.shape, { axis });
    this.record([x], [y], ([dy]) => {
      if (!dy) return [];
      const dot = this.reduce("ReduceSum", this.mul(dy, y), [axis], true);
      return [this.mul(y, this.sub(dy, dot))];
    });
    return y;
  }

  // ── products ──────────────────────────────────────────────────────────────────────────────────

  /** Batched matrix product [..., M, K] × [..., K, N] with equal batch dimensions. */
  matmul(a: T, b: T): T {
    const r = a.shape.length;
    const shape = [...a.shape.slice(0, r - 1), b.shape[b.shape.length - 1]];
    const y = this.node1("MatMul", [a, b], a.dtype, shape);
    this.record([a, b], [y], ([dy], need) => {
      if (!dy) return [];
      return [
        need[0] ? this.matmul(dy, this.transposeLast(b)) : undefined,
        need[1] ? this.matmul(this.transposeLast(a), dy) : undefined,
      ];
    });
    return y;
  }

  private transposeLast(x: T): T {
    const r = x.shape.length;
    const perm = [...range(r - 2), r - 1, r - 2];
    return this.transpose(x, perm);
  }

  /**
   * y = x · Wᵀ for x [N, in] and W [out, in] (PyTorch's Linear layout), as Gemm(transB=1): the weight
   * is never transposed in memory. Backward: dx = dy · W (plain MatMul), dW = dyᵀ · x (Gemm transA=1).
   */
  linear(x: T, w: T): T {
    const y = this.node1("Gemm", [x, w], x.dtype, [x.shape[0], w.shape[0]], { transB: 1 });
    this.record([x, w], [y], ([dy], need) => {
      if (!dy) return [];
      return [need[0] ? this.matmul(dy, w) : undefined, need[1] ? this.gemmTA(dy, x) : undefined];
    });
    return y;
  }

  /**
   * linear() for a frozen W stored in a narrower float (fp16 weights): W is cast to x's type right
   * before each product, forward and backward, so no full-precision copy of W outlives one product.
   * The session must keep common-subexpression elimination off, or the two casts merge into one
   * tensor that lives from the forward pass to the backward pass.
   */
  linearCast(x: T, w: T): T {
    const up = () => this.node1("Cast", [w], x.dtype, w.shape, { to: elemType(x.dtype) });
    const y = this.node1("Gemm", [x, up()], x.dtype, [x.shape[0], w.shape[0]], { transB: 1 });
    this.record([x], [y], ([dy]) => [dy && this.matmul(dy, up())]);
    return y;
  }

  private gemmTA(a: T, b: T): T {
    const y = this.node1("Gemm", [a, b], a.dtype, [a.shape[1], b.shape[1]], { transA: 1 });
    this.record([a, b], [y], ([dy], need) => {
      if (!dy) return [];
      // y = aᵀb  ⇒  da = b·dyᵀ, db = a·dy
      return [need[0] ? this.gemmTB(b, dy) : undefined, need[1] ? this.matmul(a, dy) : undefined];
    });
    return y;
  }

  private gemmTB(a: T, b: T): T {
    return this.linear(a, b);
  }

  // ── layout ────────────────────────────────────────────────────────────────────────────────────

  reshape(x: T, dims: Dim[]): T {
    const y = this.node1("Reshape", [x, this.shapeTensor(dims)], x.dtype, dims, { allowzero: 1 });
    this.record([x], [y], ([dy]) => [dy && this.reshape(dy, x.shape as Dim[])]);
    return y;
  }

  transpose(x: T, perm: number[]): T {
    const y = this.node1(
      "Transpose",
      [x],
      x.dtype,
      perm.map((p) => x.shape[p]),
      { perm },
    );
    const inv = perm.map((_, i) => perm.indexOf(i));
    this.record([x], [y], ([dy]) => [dy && this.transpose(dy, inv)]);
    return y;
  }

  concat(xs: T[], axis: number): T {
    const ax = axis < 0 ? axis + xs[0].shape.length : axis;
    const sizes = xs.map((x) => x.shape[ax]);
    const total = sizes.every((s) => typeof s === "number")
      ? (sizes as number[]).reduce((a, b) => a + b, 0)
      : sizes.join("+");
    const shape = xs[0].shape.map((d, i) => (i === ax ? total : d));
    const y = this.node1("Concat", xs, xs[0].dtype, shape, { axis: ax });
    this.record(xs, [y], ([dy]) => {
      if (!dy) return [];
      if (!sizes.every((s) => typeof s === "number"))
        throw new Error("graph: concat gradient needs static sizes");
      const parts = this.node(
        "Split",
        [dy, this.ints(sizes as number[])],
        xs.map((x) => ({ dtype: x.dtype, shape: x.shape })),
        { axis: ax },
      );
      return parts;
    });
    return y;
  }

  /** Static slice along one axis. VJP: the gradient padded back with zeros (needs a static axis). */
  slice(x: T, axis: number, start: number, end: number): T {
    const ax = axis < 0 ? axis + x.shape.length : axis;
    const shape = x.shape.map((d, i) => (i === ax ? end - start : d));
    const y = this.node1("Slice", [x, this.ints([start]), this.ints([end]), this.ints([ax])], x.dtype, shape);
    this.record([x], [y], ([dy]) => {
      if (!dy) return [];
      const size = x.shape[ax];
      if (typeof size !== "number") throw new Error("graph: slice gradient needs a static axis");
      const pads = new Array(2 * x.shape.length).fill(0);
      pads[ax] = start;
      pads[x.shape.length + ax] = size - end;
      return [this.node1("Pad", [dy, this.ints(pads)], dy.dtype, x.shape)];
    });
    return y;
  }

  /**
   * rotate_half(x) = cat(-x[..., d/2:], x[..., :d/2]) (HF's RoPE convention). A primitive rather than
   * a composite: its VJP is simply -rotate_half(dy), where the composite's would pad and add halves.
   */
  rotateHalf(x: T): T {
    const d = x.shape[x.shape.length - 1] as number;
    const build = (v: T) => {
      const lo = this.node1(
        "Slice",
        [v, this.ints([0]), this.ints([d / 2]), this.ints([-1])],
        v.dtype,
        halfShape(v),
      );
      const hi = this.node1(
        "Slice",
        [v, this.ints([d / 2]), this.ints([d]), this.ints([-1])],
        v.dtype,
        halfShape(v),
      );
      const neg = this.node1("Neg", [hi], v.dtype, hi.shape);
      return this.node1("Concat", [neg, lo], v.dtype, v.shape, { axis: -1 });
    };
    const halfShape = (v: T) => [...v.shape.slice(0, -1), d / 2];
    const y = build(x);
    this.record([x], [y], ([dy]) => [dy && this.node1("Neg", [build(dy)], dy.dtype, dy.shape)]);
    return y;
  }

  // ── indexing ──────────────────────────────────────────────────────────────────────────────────

  /**
   * Rows of a table: table [V, H], ids (int64) of any shape → [...ids, H]. Serves the embedding and
   * the loss's labelled positions. VJP: the gradient scatter-added into a zero table.
   */
  gather(table: T, ids: T): T {
    const y = this.node1("Gather", [table, ids], table.dtype, [...ids.shape, table.shape[1]], { axis: 0 });
    this.record([table, ids], [y], ([dy], need) => {
      if (!dy || !need[0]) return [];
      const idx = this.node1("Unsqueeze", [ids, this.ints([-1])], "int64", [...ids.shape, 1]);
      return [
        this.node1("ScatterND", [this.zerosLike(table), idx, dy], table.dtype, table.shape, {
          reduction: "add",
        }),
      ];
    });
    return y;
  }

  /** Zeros shaped like x: a scalar expanded on whichever device runs the consumer (ConstantOfShape runs on the CPU under WebGPU). */
  zerosLike(x: T): T {
    return this.node1("Expand", [this.scalar(0), this.shapeTensor(x.shape)], x.dtype, x.shape);
  }

  /**
   * Summed token cross-entropy: Σ_i w_i · (logsumexp(z_i) − z_i[label_i]). Weights carry the -100
   * masking and the normalisation (1/number of label tokens), so the caller decides how to average
   * across accumulated micro-batches. Labels must already be valid indices (masked ones set to 0).
   * VJP: dz = softmax(z)·s − scatter(label, s) with s = w · dloss.
   * Built from ops every provider has a kernel for (ReduceLogSumExp, GatherElements, ScatterElements):
   * WebGPU has neither LogSoftmax nor OneHot, and a [M, V] one-hot made on the CPU would be copied up.
   */
  crossEntropy(logits: T, labels: T, weights: T): T {
    const [M] = logits.shape;
    const lse = this.node1("ReduceLogSumExp", [logits, this.ints([1])], logits.dtype, [M, 1], {
      keepdims: 1,
    });
    const idx = this.node1("Unsqueeze", [labels, this.ints([-1])], "int64", [M, 1]);
    const picked = this.node1("GatherElements", [logits, idx], logits.dtype, [M, 1], { axis: 1 });
    const w2 = this.node1("Unsqueeze", [weights, this.ints([-1])], weights.dtype, [M, 1]);
    const nll = this.node1(
      "Mul",
      [this.node1("Sub", [lse, picked], logits.dtype, [M, 1]), w2],
      logits.dtype,
      [M, 1],
    );
    const loss = this.node1("ReduceSum", [nll, this.ints([0, 1])], logits.dtype, [], { keepdims: 0 });
    this.record([logits], [loss], ([dl]) => {
      if (!dl) return [];
      const p = this.node1(
        "Exp",
        [this.node1("Sub", [logits, lse], logits.dtype, logits.shape)],
        logits.dtype,
        logits.shape,
      );
      const scale = this.node1("Mul", [w2, dl], logits.dtype, [M, 1]);
      const atLabel = this.node1(
        "ScatterElements",
        [this.zerosLike(logits), idx, scale],
        logits.dtype,
        logits.shape,
        {
          axis: 1,
        },
      );
      const scaled = this.node1("Mul", [p, scale], logits.dtype, logits.shape);
      return [this.node1("Sub", [scaled, atLabel], logits.dtype, logits.shape)];
    });
    return loss;
  }

  /** Escape hatch for ops with no gradient rule (Cast, Shape, comparisons …): refuses an input that needs one. */
  raw(op: string, inputs: (T | null)[], dtype: DType, shape: Dim[], attrs?: Record<string, AttrValue>): T {
    const needy = this.recording ? inputs.find((t) => t && this.requires.has(t.id)) : undefined;
    if (needy) throw new Error(`graph: raw ${op} has no gradient rule but ${needy.name} needs a gradient`);
    return this.node1(op, inputs, dtype, shape, attrs);
  }

  /**
   * x · Wᵀ for a frozen weight held in a compact form (4-bit codes and scales). The forward is one
   * contrib node (`fused`, given x first) or a Gemm over `weight(null)`; the backward needs only
   * dx = dy · W and rebuilds W as `weight(zero)`, where `zero` is an exact run-time zero drawn from dy.
   * The builder must feed that zero into its first node, so the rebuilt W shares no node with a forward
   * copy (no common-subexpression merge) and cannot run before dy exists: no float copy of W lives
   * from the forward to the backward.
   */
  frozenLinear(
    x: T,
    outF: number,
    weight: (zero: T | null) => T,
    fused?: { op: string; domain: string; inputs: T[]; attrs: Record<string, AttrValue> },
  ): T {
    const shape = [x.shape[0], outF];
    const y = fused
      ? this.node(fused.op, [x, ...fused.inputs], [{ dtype: x.dtype, shape }], fused.attrs, fused.domain)[0]
      : this.node1("Gemm", [x, weight(null)], x.dtype, shape, { transB: 1 });
    this.record([x], [y], ([dy]) => [dy && this.matmul(dy, weight(this.zeroAfter([dy])))]);
    return y;
  }
}

export function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

function broadcastShape(a: readonly Dim[], b: readonly Dim[]): Dim[] {
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
