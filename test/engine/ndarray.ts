/**
 * Plain float64 reference implementations of the graph builder's ops, written for clarity, not speed:
 * the independent side of the op checks in graph.test.ts.
 */
export interface Arr {
  shape: number[];
  data: Float64Array;
}

export const arr = (shape: number[], data: ArrayLike<number>): Arr => ({
  shape,
  data: Float64Array.from(data),
});
const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function strides(shape: number[]): number[] {
  const s = new Array(shape.length).fill(1);
  for (let i = shape.length - 2; i >= 0; i--) s[i] = s[i + 1] * shape[i + 1];
  return s;
}

/** Multi-index of flat position i. */
function unravel(i: number, shape: number[]): number[] {
  const st = strides(shape);
  return shape.map((_, k) => Math.floor(i / st[k]) % shape[k]);
}

function ravel(idx: number[], shape: number[]): number {
  const st = strides(shape);
  return idx.reduce((n, v, k) => n + v * st[k], 0);
}

export function map(a: Arr, f: (x: number) => number): Arr {
  return { shape: a.shape, data: a.data.map(f) };
}

/** Numpy-style broadcasting elementwise op. */
export function zip(a: Arr, b: Arr, f: (x: number, y: number) => number): Arr {
  const n = Math.max(a.shape.length, b.shape.length);
  const pa = [...new Array(n - a.shape.length).fill(1), ...a.shape];
  const pb = [...new Array(n - b.shape.length).fill(1), ...b.shape];
  const shape = pa.map((d, i) => Math.max(d, pb[i]));
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    const ia = ravel(
      idx.map((v, k) => (pa[k] === 1 ? 0 : v)),
      pa,
    );
    const ib = ravel(
      idx.map((v, k) => (pb[k] === 1 ? 0 : v)),
      pb,
    );
    out[i] = f(a.data[ia], b.data[ib]);
  }
  return { shape, data: out };
}

export function reduce(a: Arr, axes: number[], keepdims: boolean, mean = false): Arr {
  const kept = a.shape.map((d, i) => (axes.includes(i) ? 1 : d));
  const out = new Float64Array(size(kept));
  for (let i = 0; i < a.data.length; i++) {
    const idx = unravel(i, a.shape).map((v, k) => (axes.includes(k) ? 0 : v));
    out[ravel(idx, kept)] += a.data[i];
  }
  const count = axes.reduce((n, ax) => n * a.shape[ax], 1);
  const shape = keepdims ? kept : a.shape.filter((_, i) => !axes.includes(i));
  return { shape, data: mean ? out.map((x) => x / count) : out };
}

export function transpose(a: Arr, perm: number[]): Arr {
  const shape = perm.map((p) => a.shape[p]);
  const out = new Float64Array(a.data.length);
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    const src = new Array(a.shape.length);
    perm.forEach((p, k) => {
      src[p] = idx[k];
    });
    out[i] = a.data[ravel(src, a.shape)];
  }
  return { shape, data: out };
}

/** Batched [..., M, K] × [..., K, N]. */
export function matmul(a: Arr, b: Arr): Arr {
  const r = a.shape.length;
  const [M, K] = a.shape.slice(r - 2);
  const N = b.shape[r - 1];
  const batch = size(a.shape.slice(0, r - 2));
  const out = new Float64Array(batch * M * N);
  for (let q = 0; q < batch; q++)
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a.data[q * M * K + m * K + k] * b.data[q * K * N + k * N + n];
        out[q * M * N + m * N + n] = s;
      }
  return { shape: [...a.shape.slice(0, r - 1), N], data: out };
}

export function sliceAxis(a: Arr, axis: number, start: number, end: number): Arr {
  const shape = a.shape.map((d, i) => (i === axis ? end - start : d));
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    idx[axis] += start;
    out[i] = a.data[ravel(idx, a.shape)];
  }
  return { shape, data: out };
}

export function concat(xs: Arr[], axis: number): Arr {
  const shape = [...xs[0].shape];
  shape[axis] = xs.reduce((n, x) => n + x.shape[axis], 0);
  const out = new Float64Array(size(shape));
  for (let i = 0; i < out.length; i++) {
    const idx = unravel(i, shape);
    let k = 0;
    while (idx[axis] >= xs[k].shape[axis]) idx[axis] -= xs[k++].shape[axis];
    out[i] = xs[k].data[ravel(idx, xs[k].shape)];
  }
  return { shape, data: out };
}

export function softmaxLast(a: Arr): Arr {
  const n = a.shape[a.shape.length - 1];
  const out = new Float64Array(a.data.length);
  for (let r = 0; r < a.data.length / n; r++) {
    const row = a.data.subarray(r * n, (r + 1) * n);
    const m = Math.max(...row);
    const e = row.map((x) => Math.exp(x - m));
    const s = e.reduce((x, y) => x + y, 0);
    e.forEach((x, i) => {
      out[r * n + i] = x / s;
    });
  }
  return { shape: a.shape, data: out };
}

/** Rows of a [V, H] table at integer ids of any shape. */
export function gatherRows(table: Arr, ids: Arr): Arr {
  const H = table.shape[1];
  const out = new Float64Array(ids.data.length * H);
  ids.data.forEach((id, i) => {
    out.set(table.data.subarray(id * H, (id + 1) * H), i * H);
  });
  return { shape: [...ids.shape, H], data: out };
}
