/**
 * Bit-parallel LCS (Allison–Dix 1986 / Hyyrö 2004) over interned token ids, including rouge_score's
 * LCS read-out, so ROUGE-L and ROUGE-Lsum cost O(|b|·⌈|a|/32⌉) word operations instead of |a|·|b|
 * table cells.
 *
 * Sequence `a` lies along the bits. After processing b[0..j), bit i of the column vector V_j is 0
 * exactly when the DP table increases between rows i and i+1 of column j: t[i+1][j] = t[i][j] + 1
 * (start: all ones, t[·][0] = 0). One step: U = V & M(b[j]); V = (V + U) | (V & ~U), where M(x) has
 * bit i set iff a[i] = x. LCS = number of zero bits.
 *
 * rouge_score's _backtrack_norec, at a non-matching cell (i, j), steps to j-1 iff
 * t[i][j-1] > t[i-1][j]. There t[i][j] = max(t[i-1][j], t[i][j-1]) and both neighbours are t[i][j] or
 * t[i][j]-1, so the test is true exactly when t[i-1][j] = t[i][j] - 1, i.e. when bit i-1 of V_j is 0.
 * The read-out therefore needs only the stored columns, no table.
 */
import { vocabSize } from "./tokenize.ts";

/** Token id → mask slot of the loaded sequence, -1 when the token is not in it. */
let slotOf = new Int32Array(1024).fill(-1);
let masks = new Uint32Array(64);
let loaded: Int32Array | null = null;
let words = 0; // ⌈|a| / 32⌉
let lastMask = 0; // valid bits of the top word

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** Put `a` on the bit axis. Only one sequence is loaded at a time; call unload(a) when done. */
function load(a: Int32Array): void {
  if (loaded) throw new Error("lcs: a sequence is already loaded");
  const need = vocabSize();
  if (slotOf.length < need) {
    const grown = new Int32Array(Math.max(need, slotOf.length * 2)).fill(-1);
    slotOf = grown;
  }
  words = (a.length + 31) >>> 5;
  const rem = a.length & 31;
  lastMask = rem === 0 ? 0xffffffff : ((1 << rem) - 1) >>> 0;
  let slots = 0;
  for (let i = 0; i < a.length; i++) if (slotOf[a[i]] < 0) slotOf[a[i]] = slots++;
  if (masks.length < slots * words) masks = new Uint32Array(Math.max(slots * words, masks.length * 2));
  masks.fill(0, 0, slots * words);
  for (let i = 0; i < a.length; i++) masks[slotOf[a[i]] * words + (i >>> 5)] |= 1 << (i & 31);
  loaded = a;
}

function unload(a: Int32Array): void {
  for (let i = 0; i < a.length; i++) slotOf[a[i]] = -1;
  loaded = null;
}

let column = new Uint32Array(8);
let columns = new Uint32Array(64);

/**
 * Run b against the loaded sequence. With `keep`, columns[j*words ..] holds V_j for j = 0..|b|.
 * Returns the LCS length.
 */
function sweep(b: Int32Array, keep: boolean): number {
  const w = words;
  if (column.length < w) column = new Uint32Array(w * 2);
  const V = column;
  V.fill(0xffffffff, 0, w);
  V[w - 1] = lastMask;
  if (keep) {
    if (columns.length < (b.length + 1) * w) columns = new Uint32Array((b.length + 1) * w * 2);
    for (let k = 0; k < w; k++) columns[k] = V[k];
  }
  for (let j = 0; j < b.length; j++) {
    const s = slotOf[b[j]];
    if (s >= 0) {
      const base = s * w;
      let carry = 0;
      for (let k = 0; k < w; k++) {
        const v = V[k];
        const u = (v & masks[base + k]) >>> 0;
        const sum = v + u + carry; // exact in a double; bit 32 is the carry
        carry = sum > 0xffffffff ? 1 : 0;
        V[k] = sum | (v & ~u);
      }
      V[w - 1] &= lastMask;
    }
    if (keep) for (let k = 0, at = (j + 1) * w; k < w; k++) columns[at + k] = V[k];
  }
  let ones = 0;
  for (let k = 0; k < w; k++) ones += popcount(V[k]);
  return loadedLength() - ones;
}

function loadedLength(): number {
  return (loaded as Int32Array).length;
}

/** Length of the longest common subsequence of a and b. */
export function lcsLength(a: Int32Array, b: Int32Array): number {
  if (a.length === 0 || b.length === 0) return 0;
  const [bits, other] = a.length <= b.length ? [a, b] : [b, a];
  load(bits);
  try {
    return sweep(other, false);
  } finally {
    unload(bits);
  }
}

/**
 * For one reference line and several candidate lines, set marks[i] = 1 for every reference position
 * on the LCS that rouge_score's _backtrack_norec reads out for some candidate — the union LCS.
 */
export function unionLcsMarks(ref: Int32Array, cands: readonly Int32Array[], marks: Uint8Array): void {
  if (ref.length === 0) return;
  load(ref);
  try {
    const w = words;
    for (const can of cands) {
      if (can.length === 0 || sweep(can, true) === 0) continue; // nothing to read out
      let i = ref.length;
      let j = can.length;
      while (i > 0 && j > 0) {
        if (ref[i - 1] === can[j - 1]) {
          marks[i - 1] = 1;
          i--;
          j--;
        } else if (((columns[j * w + ((i - 1) >>> 5)] >>> ((i - 1) & 31)) & 1) === 0) j--;
        else i--;
      }
    }
  } finally {
    unload(ref);
  }
}
