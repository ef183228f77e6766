/**
 * Every op of the graph builder, one line each: its forward against a plain float64 reference and its
 * vector-Jacobian rule against central finite differences of that reference (tinygrad's
 * helper_test_op shape). The last test fails when an op is added without a line here.
 */
import { describe, expect, it } from "vitest";
import { Graph, type T } from "../../harness/engine/graph.ts";
import { Session } from "../../harness/engine/session.ts";
import { rngStream } from "../../harness/rng.ts";
import type { Arr } from "./ndarray.ts";
import * as nd from "./ndarray.ts";

interface In {
  shape: number[];
  /** Integer ids below this bound (an int64 input, no gradient). */
  ids?: number;
  /** Values in [0.5, 1.5) (for log, sqrt, division). */
  positive?: boolean;
  /** A float input that takes no gradient. */
  frozen?: boolean;
}

const covered = new Set<string>();

async function checkOp(
  op: string,
  specs: In[],
  build: (g: Graph, xs: T[]) => T,
  ref: (xs: Arr[]) => Arr,
): Promise<void> {
  covered.add(op);
  const rng = rngStream(op, "graph-op-check");
  const values = specs.map((s) => {
    const n = s.shape.reduce((a, b) => a * b, 1);
    const draw = () => (s.ids ? rng.int(s.ids) : s.positive ? 0.5 + rng.next() : rng.normal());
    return nd.arr(s.shape, Array.from({ length: n }, draw));
  });
  const g = new Graph("float64");
  const xs = specs.map((s, i) =>
    g.input(`x${i}`, s.shape, { dtype: s.ids ? "int64" : undefined, trainable: !s.ids && !s.frozen }),
  );
  const y = build(g, xs);
  const want = ref(values);
  expect(y.shape).toEqual(want.shape);
  const dy = g.input("dy", want.shape);
  const diff = specs.map((s, i) => (s.ids || s.frozen ? -1 : i)).filter((i) => i >= 0);
  const grads = g.vjp(
    [[y, dy]],
    diff.map((i) => xs[i]),
  );
  g.output(y, "y");
  grads.forEach((gr, k) => {
    if (!gr) throw new Error(`${op}: no gradient for input ${diff[k]}`);
    g.output(gr, `g${k}`);
  });
  const cot = nd.arr(
    want.shape,
    want.data.map(() => rng.normal()),
  );
  const session = await Session.create(g.toBytes(), { float64: true });
  const feeds = Object.fromEntries(
    specs.map((s, i) => [
      `x${i}`,
      { data: s.ids ? BigInt64Array.from(values[i].data, BigInt) : values[i].data, dims: s.shape },
    ]),
  );
  const out = await session.run({ ...feeds, dy: { data: cot.data, dims: cot.shape } });
  await session.release();

  const rel = (a: number, b: number) => Math.abs(a - b) / Math.max(1, Math.abs(b));
  const got = out.y.data as Float64Array;
  want.data.forEach((w, i) => {
    expect(rel(got[i], w), `${op} forward [${i}]`).toBeLessThan(1e-12);
  });
  // d(Σ cot·f(x))/dx by central differences of the reference.
  const dot = () => ref(values).data.reduce((s, v, i) => s + v * cot.data[i], 0);
  diff.forEach((xi, k) => {
    const x = values[xi].data;
    const g = out[`g${k}`].data as Float64Array;
    for (let i = 0; i < x.length; i++) {
      const x0 = x[i];
      x[i] = x0 + 1e-6;
      const a = dot();
      x[i] = x0 - 1e-6;
      const b = dot();
      x[i] = x0;
      expect(rel(g[i], (a - b) / 2e-6), `${op} d/dx${xi} [${i}]`).toBeLessThan(1e-6);
    }
  });
}

const { zip, map } = nd;

describe("graph ops: forward and VJP against float64 references", () => {
  it("elementwise", async () => {
    await checkOp(
      "add",
      [{ shape: [2, 3, 4] }, { shape: [3, 1] }],
      (g, [a, b]) => g.add(a, b),
      ([a, b]) => zip(a, b, (x, y) => x + y),
    );
    await checkOp(
      "sub",
      [{ shape: [3, 1] }, { shape: [2, 3, 4] }],
      (g, [a, b]) => g.sub(a, b),
      ([a, b]) => zip(a, b, (x, y) => x - y),
    );
    await checkOp(
      "mul",
      [{ shape: [2, 3, 4] }, { shape: [4] }],
      (g, [a, b]) => g.mul(a, b),
      ([a, b]) => zip(a, b, (x, y) => x * y),
    );
    await checkOp(
      "div",
      [{ shape: [2, 3] }, { shape: [2, 1], positive: true }],
      (g, [a, b]) => g.div(a, b),
      ([a, b]) => zip(a, b, (x, y) => x / y),
    );
    await checkOp(
      "neg",
      [{ shape: [5] }],
      (g, [x]) => g.neg(x),
      ([x]) => map(x, (v) => -v),
    );
    await checkOp(
      "exp",
      [{ shape: [5] }],
      (g, [x]) => g.exp(x),
      ([x]) => map(x, Math.exp),
    );
    await checkOp(
      "log",
      [{ shape: [5], positive: true }],
      (g, [x]) => g.log(x),
      ([x]) => map(x, Math.log),
    );
    await checkOp(
      "sqrt",
      [{ shape: [5], positive: true }],
      (g, [x]) => g.sqrt(x),
      ([x]) => map(x, Math.sqrt),
    );
    await checkOp(
      "rsqrt",
      [{ shape: [5], positive: true }],
      (g, [x]) => g.rsqrt(x),
      ([x]) => map(x, (v) => 1 / Math.sqrt(v)),
    );
    const sig = (v: number) => 1 / (1 + Math.exp(-v));
    await checkOp(
      "sigmoid",
      [{ shape: [6] }],
      (g, [x]) => g.sigmoid(x),
      ([x]) => map(x, sig),
    );
    await checkOp(
      "silu",
      [{ shape: [6] }],
      (g, [x]) => g.silu(x),
      ([x]) => map(x, (v) => v * sig(v)),
    );
    await checkOp(
      "tanh",
      [{ shape: [6] }],
      (g, [x]) => g.tanh(x),
      ([x]) => map(x, Math.tanh),
    );
    // PyTorch's gelu(approximate="tanh"), written out independently.
    const k = Math.sqrt(2 / Math.PI);
    await checkOp(
      "geluTanh",
      [{ shape: [8] }],
      (g, [x]) => g.geluTanh(x),
      ([x]) => map(x, (v) => 0.5 * v * (1 + Math.tanh(k * (v + 0.044715 * v ** 3)))),
    );
  });

  it("reductions and softmax", async () => {
    await checkOp(
      "reduceSum",
      [{ shape: [2, 3, 4] }],
      (g, [x]) => g.reduceSum(x, [1], false),
      ([x]) => nd.reduce(x, [1], false),
    );
    await checkOp(
      "reduceMean",
      [{ shape: [2, 3, 4] }],
      (g, [x]) => g.reduceMean(x, [-1], true),
      ([x]) => nd.reduce(x, [2], true, true),
    );
    await checkOp(
      "softmax",
      [{ shape: [2, 5] }],
      (g, [x]) => g.softmax(x, -1),
      ([x]) => nd.softmaxLast(x),
    );
  });

  it("products", async () => {
    await checkOp(
      "matmul",
      [{ shape: [2, 3, 4] }, { shape: [2, 4, 5] }],
      (g, [a, b]) => g.matmul(a, b),
      ([a, b]) => nd.matmul(a, b),
    );
    await checkOp(
      "linear",
      [{ shape: [3, 4] }, { shape: [5, 4] }],
      (g, [x, w]) => g.linear(x, w),
      ([x, w]) => nd.matmul(x, nd.transpose(w, [1, 0])),
    );
    // A stored-narrow frozen weight, upcast at each use (here float64 to float64: the rule is what counts).
    await checkOp(
      "linearCast",
      [{ shape: [3, 4] }, { shape: [5, 4], frozen: true }],
      (g, [x, w]) => g.linearCast(x, w),
      ([x, w]) => nd.matmul(x, nd.transpose(w, [1, 0])),
    );
    // A frozen weight rebuilt for the backward (4-bit weights): here the rebuild adds the run-time zero.
    await checkOp(
      "frozenLinear",
      [{ shape: [3, 4] }, { shape: [5, 4], frozen: true }],
      (g, [x, w]) => g.frozenLinear(x, 5, (z) => (z ? g.raw("Add", [w, z], g.float, [5, 4]) : w)),
      ([x, w]) => nd.matmul(x, nd.transpose(w, [1, 0])),
    );
  });

  it("layout", async () => {
    await checkOp(
      "reshape",
      [{ shape: [2, 6] }],
      (g, [x]) => g.reshape(x, [3, 4]),
      ([x]) => nd.arr([3, 4], x.data),
    );
    await checkOp(
      "transpose",
      [{ shape: [2, 3, 4] }],
      (g, [x]) => g.transpose(x, [2, 0, 1]),
      ([x]) => nd.transpose(x, [2, 0, 1]),
    );
    await checkOp(
      "concat",
      [{ shape: [2, 3] }, { shape: [2, 2] }],
      (g, [a, b]) => g.concat([a, b], 1),
      ([a, b]) => nd.concat([a, b], 1),
    );
    await checkOp(
      "slice",
      [{ shape: [3, 5] }],
      (g, [x]) => g.slice(x, 1, 1, 4),
      ([x]) => nd.sliceAxis(x, 1, 1, 4),
    );
    await checkOp(
      "rotateHalf",
      [{ shape: [2, 3, 4] }],
      (g, [x]) => g.rotateHalf(x),
      ([x]) => nd.concat([map(nd.sliceAxis(x, 2, 2, 4), (v) => -v), nd.sliceAxis(x, 2, 0, 2)], 2),
    );
  });

  it("indexing and the loss", async () => {
    await checkOp(
      "gather",
      [{ shape: [6, 3] }, { shape: [2, 4], ids: 6 }],
      (g, [table, ids]) => g.gather(table, ids),
      ([table, ids]) => nd.gatherRows(table, ids),
    );
    await checkOp(
      "crossEntropy",
      [{ shape: [4, 5] }, { shape: [4], ids: 5 }, { shape: [4], positive: true, frozen: true }],
      (g, [z, labels, w]) => g.crossEntropy(z, labels, w),
      ([z, labels, w]) => {
        const logp = map(
          zip(z, nd.reduce(map(z, Math.exp), [1], true), (a, s) => a - Math.log(s)),
          (v) => v,
        );
        let loss = 0;
        labels.data.forEach((l, i) => {
          loss -= w.data[i] * logp.data[i * 5 + l];
        });
        return nd.arr([], [loss]);
      },
    );
  });
});

describe("graph builder guards and segments", () => {
  it("refuses raw ops and symbolic-axis slices on a path that needs a gradient", () => {
    const g = new Graph("float64");
    const x = g.input("x", [2, 3], { trainable: true });
    expect(() => g.raw("Cast", [x], "float64", [2, 3], { to: 11 })).toThrow(/raw Cast has no gradient rule/);
    const frozen = g.input("f", [2, 3]);
    expect(() => g.raw("Cast", [frozen], "float64", [2, 3], { to: 11 })).not.toThrow();
    const s = g.input("s", ["B", 3], { trainable: true });
    const y = g.reduceSum(g.slice(s, 0, 0, 1), [0, 1], false);
    expect(() => g.gradients(y, [s])).toThrow(/slice gradient needs a static axis/);
  });

  it("a segment rebuilt on a leaf and seeded by vjp gives the plain tape's gradient, bit for bit", async () => {
    const build = (ckpt: boolean) => {
      const g = new Graph("float64");
      const x = g.input("x", [3, 4]);
      const w1 = g.input("w1", [4, 4], { trainable: true });
      const w2 = g.input("w2", [4, 4], { trainable: true });
      const seg = (h: T, w: T) => g.add(h, g.silu(g.linear(h, w)));
      if (!ckpt) {
        const loss = g.reduceSum(g.mul(seg(seg(x, w1), w2), seg(seg(x, w1), w2)), [0, 1], false);
        g.gradients(loss, [w1, w2]).forEach((d, i) => {
          g.output(d, `d${i + 1}`);
        });
        return g.toBytes();
      }
      const h1 = g.noGrad(() => seg(x, w1));
      const h2 = g.noGrad(() => seg(h1, w2));
      let mark = g.tapeMark();
      const top = g.leaf(h2);
      const loss = g.reduceSum(g.mul(top, top), [0, 1], false);
      const [dh2] = g.vjp([[loss, g.scalar(1)]], [top], mark);
      mark = g.tapeMark();
      const h1b = g.leaf(g.add(h1, g.zeroAfter([dh2!])));
      const [dh1, d2] = g.vjp([[seg(h1b, w2), dh2!]], [h1b, w2], mark);
      mark = g.tapeMark();
      const [d1] = g.vjp([[seg(x, w1), dh1!]], [w1], mark);
      g.output(d1!, "d1");
      g.output(d2!, "d2");
      return g.toBytes();
    };
    const rng = rngStream(3, "segment");
    const feeds = {
      x: { data: Float64Array.from({ length: 12 }, () => rng.normal()), dims: [3, 4] },
      w1: { data: Float64Array.from({ length: 16 }, () => rng.normal()), dims: [4, 4] },
      w2: { data: Float64Array.from({ length: 16 }, () => rng.normal()), dims: [4, 4] },
    };
    const run = async (bytes: Uint8Array) => {
      const s = await Session.create(bytes, { float64: true });
      const out = await s.run(feeds);
      await s.release();
      return [out.d1.data, out.d2.data].map((d) => Buffer.from((d as Float64Array).buffer).toString("hex"));
    };
    expect(await run(build(true))).toEqual(await run(build(false)));
  });
});

/** Graph's own methods that are not ops (the private helpers are visible at run time). */
const NOT_OPS = new Set(["constructor", "zerosLike", "raw", "binary", "transposeLast", "gemmTA", "gemmTB"]);

// Declared last, so it runs after every checkOp above (a file's tests run in order).
it("checks every op the builder offers", () => {
  const ops = Object.getOwnPropertyNames(Graph.prototype).filter((n) => !NOT_OPS.has(n));
  expect(ops.filter((n) => !covered.has(n))).toEqual([]);
  expect(ops.length).toBeGreaterThanOrEqual(23);
});
