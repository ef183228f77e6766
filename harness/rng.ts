import seedrandom from "seedrandom";

/**
 * Named random streams. Every random draw in the project (subset sampling, LoRA init, dropout masks,
 * data order, bootstrap) takes its own stream derived from the run seed and a name, so adding a draw
 * in one place never shifts the numbers drawn in another.
 */
export interface Rng {
  /** Uniform in [0, 1) with 53 bits of randomness. */
  next(): number;
  /** Integer uniform in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
  /** Fisher–Yates shuffle in place; returns the array. */
  shuffle<T>(xs: T[]): T[];
  /** k distinct indices from [0, n), in draw order. */
  sample(n: number, k: number): number[];
  /** A child stream, independent of this one's position. */
  child(name: string): Rng;
}

export function rngStream(seed: number | string, name: string): Rng {
  return makeRng(`${seed}/${name}`);
}

function makeRng(key: string): Rng {
  const prng = seedrandom(key);
  let spare: number | null = null;
  const rng: Rng = {
    next: () => prng.double(),
    int: (n) => {
      if (!(n > 0)) throw new RangeError(`int(n) needs n > 0, got ${n}`);
      return Math.floor(prng.double() * n);
    },
    normal: () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      let u = 0;
      while (u === 0) u = prng.double();
      const v = prng.double();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
    shuffle: (xs) => {
      for (let i = xs.length - 1; i > 0; i--) {
        const j = Math.floor(prng.double() * (i + 1));
        const t = xs[i];
        xs[i] = xs[j];
        xs[j] = t;
      }
      return xs;
    },
    sample: (n, k) => {
      if (k > n) throw new RangeError(`cannot sample ${k} of ${n}`);
      const idx = Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < k; i++) {
        const j = i + Math.floor(prng.double() * (n - i));
        const t = idx[i];
        idx[i] = idx[j];
        idx[j] = t;
      }
      return idx.slice(0, k);
    },
    child: (name) => makeRng(`${key}/${name}`),
  };
  return rng;
}
