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
 * This file holds the ops, each forward beside its rule; the plumbing and the tape walk (including
 * the segment VJPs that activation recomputation uses) are in graph-core.ts.
 */
import { broadcastShape, GraphCore, range, type T } from "./graph-core.ts";
import { type AttrValue, type Dim, type DType, elemType } from "./onnx.ts";

export { OPSET, range, type T } from "./graph-core.ts";
export type { Dim, DType } from "./onnx.ts";

export class Graph extends GraphCore {
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

  tanh(x: T): T {
    const y = this.node1("Tanh", [x], x.dtype, x.shape);
    // d tanh = 1 − tanh²
    this.record([x], [y], ([dy]) => [dy && this.mul(dy, this.sub(this.scalar(1), this.mul(y, y)))]);
    return y;
  }

  /**
   * GELU with PyTorch's tanh approximation (`gelu_pytorch_tanh`, Gemma's MLP activation):
   * ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))), in PyTorch's order of operations.
   */
  geluTanh(x: T): T {
    const inner = this.mul(
      this.add(x, this.mul(this.mul(this.mul(x, x), x), this.scalar(0.044715))),
      this.scalar(Math.sqrt(2 / Math.PI)),
    );
    return this.mul(this.mul(x, this.scalar(0.5)), this.add(this.scalar(1), this.tanh(inner)));
  }

  // ── reductions and normalisation ──────────────────────────────────────────────────────────────

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
