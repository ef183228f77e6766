import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from "../../harness/engine/dtype.ts";
import {
  openSafetensors,
  ST_DTYPE_BYTES,
  type StTensorInput,
  serializeSafetensors,
  writeSafetensors,
} from "../../harness/engine/safetensors.ts";
import { UserError } from "../../harness/errors.ts";
import { expectUserError, makeTmp, rawSafetensors } from "./helpers-io.ts";

const tmp = makeTmp("st");
afterAll(tmp.cleanup);
let fileNo = 0;
function put(bytes: Uint8Array): string {
  fileNo += 1;
  const p = join(tmp.dir, `f${fileNo}.safetensors`);
  writeFileSync(p, bytes);
  return p;
}

const h16 = (x: number) => f32ToF16(new Float32Array([x]))[0];
const hb16 = (x: number) => f32ToBf16(new Float32Array([x]))[0];
const fromBits = (b: number) => new Float32Array(new Uint32Array([b]).buffer)[0];

describe("dtype conversions", () => {
  it("f32 → f16 matches hand-computed bit patterns", () => {
    const cases: [number, number][] = [
      [1.0, 0x3c00],
      [-2.5, 0xc100],
      [0, 0x0000],
      [-0, 0x8000],
      [65504, 0x7bff],
      [65519, 0x7bff], // below the halfway point to 65536
      [65520, 0x7c00], // tie with an odd mantissa rounds up, to inf
      [1e6, 0x7c00],
      [Number.POSITIVE_INFINITY, 0x7c00],
      [Number.NEGATIVE_INFINITY, 0xfc00],
      [2 ** -14, 0x0400], // smallest normal
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -25, 0x0000], // tie between 0 and 2^-24 → even (0)
      [3 * 2 ** -26, 0x0001],
      [3 * 2 ** -25, 0x0002], // tie between 1 and 2 ulps → even (2)
      [1e-5, 0x00a8], // subnormal: 1e-5 / 2^-24 = 167.77 → 168
      [1e-8, 0x0000], // underflows to zero
      [1 + 2 ** -11, 0x3c00], // tie → even
      [1 + 3 * 2 ** -11, 0x3c02], // tie → even (up)
      [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie
      [2 ** -14 - 2 ** -25, 0x0400], // rounding carries from subnormal into the smallest normal
    ];
    for (const [x, bits] of cases) expect(h16(x), `f16(${x})`).toBe(bits);
    const nan = h16(Number.NaN);
    expect(nan & 0x7c00).toBe(0x7c00);
    expect(nan & 0x3ff).not.toBe(0);
    expect(h16(fromBits(0x7f800001)) & 0x3ff).not.toBe(0); // signalling NaN payload below f16 precision
  });

  it("f32 → bf16 matches hand-computed bit patterns", () => {
    const cases: [number, number][] = [
      [1.0, 0x3f80],
      [-2.5, 0xc020],
      [65504, 0x4780],
      [1e-8, 0x322c], // 0x322bcc77 rounds up
      [1 + 2 ** -8, 0x3f80], // tie → even
      [1 + 3 * 2 ** -8, 0x3f82], // tie → even (up)
      [fromBits(0x7f7fffff), 0x7f80], // max f32 rounds to inf
      [Number.NEGATIVE_INFINITY, 0xff80],
      [fromBits(0x000116c2), 0x0001], // f32 subnormal
      [-0, 0x8000],
    ];
    for (const [x, bits] of cases) expect(hb16(x), `bf16(${x})`).toBe(bits);
    for (const nanBits of [0x7fc00000, 0x7f800001, 0xffc00000, 0x7f80ffff]) {
      const b = hb16(fromBits(nanBits));
      expect(Number.isNaN(bf16ToF32(new Uint16Array([b]))[0]), `nan 0x${nanBits.toString(16)}`).toBe(true);
      expect(b >>> 15).toBe(nanBits >>> 31);
    }
  });

  it("f16/bf16 → f32 decode known patterns", () => {
    expect(Array.from(f16ToF32(new Uint16Array([0x3c00, 0xc100, 0x7bff, 0x0001, 0x0400, 0xfc00])))).toEqual([
      1,
      -2.5,
      65504,
      2 ** -24,
      2 ** -14,
      Number.NEGATIVE_INFINITY,
    ]);
    expect(Number.isNaN(f16ToF32(new Uint16Array([0x7e00]))[0])).toBe(true);
    expect(Object.is(f16ToF32(new Uint16Array([0x8000]))[0], -0)).toBe(true);
    expect(Array.from(bf16ToF32(new Uint16Array([0x3f80, 0xc020, 0x7f80])))).toEqual([
      1,
      -2.5,
      Number.POSITIVE_INFINITY,
    ]);
  });

  it("every non-NaN f16 and bf16 value round-trips exactly", () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back16 = f32ToF16(f16ToF32(all));
    const backB = f32ToBf16(bf16ToF32(all));
    const wrong: string[] = [];
    for (let h = 0; h < 65536; h++) {
      if (((h & 0x7c00) !== 0x7c00 || (h & 0x3ff) === 0) && back16[h] !== h) wrong.push(`f16 ${h}`);
      if (((h & 0x7f80) !== 0x7f80 || (h & 0x7f) === 0) && backB[h] !== h) wrong.push(`bf16 ${h}`);
    }
    expect(wrong).toEqual([]);
  });

  it("f32 → f16 picks the nearest representable value (property)", () => {
    fc.assert(
      fc.property(fc.float({ min: -65504, max: 65504, noNaN: true }), (x) => {
        const h = h16(x);
        const v = f16ToF32(new Uint16Array([h]))[0];
        const up = f16ToF32(new Uint16Array([h + 1]))[0];
        const down = h & 0x7fff ? f16ToF32(new Uint16Array([h - 1]))[0] : v;
        expect(Math.abs(x - v)).toBeLessThanOrEqual(Math.abs(x - up));
        expect(Math.abs(x - v)).toBeLessThanOrEqual(Math.abs(x - down));
      }),
      { numRuns: 2000 },
    );
  });
});

function sample(): Record<string, StTensorInput> {
  return {
    "b.weight": { dtype: "F32", shape: [2, 3], data: new Float32Array([1, 2, 3, 4, 5, -6]) },
    "a.half": { dtype: "F16", shape: [3], data: f32ToF16(new Float32Array([0.5, -1, 2])) },
    "a.brain": { dtype: "BF16", shape: [2], data: f32ToBf16(new Float32Array([3, -0.25])) },
    "c.double": { dtype: "F64", shape: [2], data: new Float64Array([Math.PI, -1e300]) },
    "d.ids": { dtype: "I64", shape: [2], data: new BigInt64Array([1n, -2n]) },
    "e.mask": { dtype: "BOOL", shape: [3], data: new Uint8Array([1, 0, 1]) },
    "f.i32": { dtype: "I32", shape: [1], data: new Int32Array([7]) },
    "g.empty": { dtype: "F32", shape: [0, 4], data: new Float32Array(0) },
    "h.scalar": { dtype: "F32", shape: [], data: new Float32Array([42]) },
  };
}

describe("safetensors writer", () => {
  it("matches the Rust crate's serialization test byte for byte", () => {
    const out = serializeSafetensors({
      "attn.0": { dtype: "F32", shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) },
    });
    // prettier-ignore
    const expected = [
      64, 0, 0, 0, 0, 0, 0, 0, 123, 34, 97, 116, 116, 110, 46, 48, 34, 58, 123, 34, 100, 116, 121, 112, 101,
      34, 58, 34, 70, 51, 50, 34, 44, 34, 115, 104, 97, 112, 101, 34, 58, 91, 49, 44, 50, 44, 51, 93, 44, 34,
      100, 97, 116, 97, 95, 111, 102, 102, 115, 101, 116, 115, 34, 58, 91, 48, 44, 50, 52, 93, 125, 125, 0, 0,
      0, 0, 0, 0, 128, 63, 0, 0, 0, 64, 0, 0, 64, 64, 0, 0, 128, 64, 0, 0, 160, 64,
    ];
    // The crate's test header happens to be 64 bytes already; the data are the same f32 bytes.
    expect(Array.from(out)).toEqual(expected);
    expect(Array.from(serializeSafetensors({}))).toEqual([
      8, 0, 0, 0, 0, 0, 0, 0, 123, 125, 32, 32, 32, 32, 32, 32,
    ]);
    expect(
      Buffer.from(serializeSafetensors({}, { framework: "pt" }))
        .subarray(8)
        .toString(),
    ).toBe('{"__metadata__":{"framework":"pt"}}     ');
  });

  it("pads the header to 8 bytes and lays out by dtype size descending, then name", () => {
    const p = join(tmp.dir, "layout.safetensors");
    writeSafetensors(p, sample(), { z: "1", a: "2" });
    const bytes = readFileSync(p);
    const n = Number(bytes.readBigUInt64LE(0));
    expect(n % 8).toBe(0);
    const text = bytes.subarray(8, 8 + n).toString("utf8");
    expect(text.trimEnd().length).toBeGreaterThan(n - 8);
    const keys = Object.keys(JSON.parse(text));
    expect(keys).toEqual([
      "__metadata__",
      "d.ids",
      "c.double",
      "b.weight",
      "g.empty",
      "h.scalar",
      "f.i32",
      "a.brain",
      "a.half",
      "e.mask",
    ]);
    expect(Object.keys(JSON.parse(text).__metadata__)).toEqual(["a", "z"]);
    // Every tensor starts at a multiple of its element size in the file (8-byte header alignment).
    const f = openSafetensors(p);
    for (const t of f.tensors.values()) expect((8 + n + t.begin) % ST_DTYPE_BYTES[t.dtype]).toBe(0);
    f.close();
    expect(readdirSync(tmp.dir).some((x) => x.endsWith(".tmp"))).toBe(false);
  });

  it("is deterministic regardless of insertion order", () => {
    const a = sample();
    const b = Object.fromEntries(Object.entries(a).reverse());
    expect(Buffer.from(serializeSafetensors(a, { x: "1", y: "2" }))).toEqual(
      Buffer.from(serializeSafetensors(b, { y: "2", x: "1" })),
    );
  });

  it("rejects data that does not match shape × dtype", () => {
    expect(() =>
      serializeSafetensors({ x: { dtype: "F32", shape: [3], data: new Float32Array(2) } }),
    ).toThrow(UserError);
  });
});

describe("safetensors reader", () => {
  it("round-trips every dtype and metadata", () => {
    const p = join(tmp.dir, "rt.safetensors");
    const s = sample();
    writeSafetensors(p, s, { format: "pt" });
    const f = openSafetensors(p);
    expect(f.metadata).toEqual({ format: "pt" });
    expect(Array.from(f.readF32("b.weight"))).toEqual([1, 2, 3, 4, 5, -6]);
    expect(Array.from(f.readF32("a.half"))).toEqual([0.5, -1, 2]);
    expect(Array.from(f.readF32("a.brain"))).toEqual([3, -0.25]);
    expect(Array.from(f.readF64("c.double"))).toEqual([Math.PI, -1e300]);
    expect(f.readF32("c.double")[0]).toBeCloseTo(Math.PI, 6);
    expect(Array.from(f.readF64("a.half"))).toEqual([0.5, -1, 2]);
    expect(Array.from(new BigInt64Array(f.readRaw("d.ids").buffer))).toEqual([1n, -2n]);
    expect(Array.from(f.readRaw("e.mask"))).toEqual([1, 0, 1]);
    expect(f.readF32("g.empty").length).toBe(0);
    expect(Array.from(f.readF32("h.scalar"))).toEqual([42]);
    expect(f.tensors.get("g.empty")?.shape).toEqual([0, 4]);
    expectUserError(() => f.readF32("d.ids"), p, /I64, expected a floating-point/);
    expectUserError(() => f.readF32("nope"), p, /no tensor "nope"/);
    f.close();
    expect(() => f.readRaw("e.mask")).toThrow(/after close/);
  });

  it("accepts an empty file with only a header", () => {
    const f = openSafetensors(put(serializeSafetensors({})));
    expect(f.tensors.size).toBe(0);
    f.close();
  });

  const f32x2 = { dtype: "F32", shape: [2], data_offsets: [0, 8] };
  const eight = new Uint8Array(8);
  const sixteen = new Uint8Array(16);
  const bad: { name: string; bytes: () => Uint8Array; re: RegExp }[] = [
    { name: "empty file", bytes: () => new Uint8Array(0), re: /shorter than the 8-byte/ },
    { name: "5-byte file", bytes: () => new Uint8Array(5), re: /shorter than the 8-byte/ },
    {
      name: "header over 100 MB",
      bytes: () => rawSafetensors({}, eight, 100_000_001n),
      re: /over the 100000000-byte/,
    },
    { name: "header length u64 max", bytes: () => rawSafetensors({}, eight, 2n ** 64n - 1n), re: /over the/ },
    { name: "header past EOF", bytes: () => rawSafetensors({}, eight, 64n), re: /past the end of the file/ },
    {
      name: "header not UTF-8",
      bytes: () => {
        const b = rawSafetensors('{"x":1}  ');
        b[9] = 0xff;
        return b;
      },
      re: /not valid UTF-8/,
    },
    { name: "header not JSON", bytes: () => rawSafetensors("{not json}"), re: /not valid JSON/ },
    { name: "header with BOM", bytes: () => rawSafetensors("\ufeff{}"), re: /not valid JSON/ },
    { name: "header is an array", bytes: () => rawSafetensors("[]      "), re: /not a JSON object/ },
    { name: "header is null", bytes: () => rawSafetensors("null    "), re: /not a JSON object/ },
    {
      name: "entry not an object",
      bytes: () => rawSafetensors({ x: 3 }),
      re: /"x": header entry is not an object/,
    },
    {
      name: "missing dtype",
      bytes: () => rawSafetensors({ x: { shape: [2], data_offsets: [0, 8] } }, eight),
      re: /lacks "dtype"/,
    },
    {
      name: "missing shape",
      bytes: () => rawSafetensors({ x: { dtype: "F32", data_offsets: [0, 8] } }, eight),
      re: /lacks "shape"/,
    },
    {
      name: "missing data_offsets",
      bytes: () => rawSafetensors({ x: { dtype: "F32", shape: [2] } }, eight),
      re: /lacks "data_offsets"/,
    },
    {
      name: "unknown dtype",
      bytes: () => rawSafetensors({ x: { ...f32x2, dtype: "F8_E4M3" } }, eight),
      re: /unknown dtype "F8_E4M3"/,
    },
    {
      name: "shape not array",
      bytes: () => rawSafetensors({ x: { ...f32x2, shape: 2 } }, eight),
      re: /shape must be/,
    },
    {
      name: "negative dim",
      bytes: () => rawSafetensors({ x: { ...f32x2, shape: [-2] } }, eight),
      re: /shape must be/,
    },
    {
      name: "fractional dim",
      bytes: () => rawSafetensors({ x: { ...f32x2, shape: [1.5] } }, eight),
      re: /shape must be/,
    },
    {
      name: "string dim",
      bytes: () => rawSafetensors({ x: { ...f32x2, shape: ["2"] } }, eight),
      re: /shape must be/,
    },
    {
      name: "three offsets",
      bytes: () => rawSafetensors({ x: { ...f32x2, data_offsets: [0, 8, 8] } }, eight),
      re: /data_offsets must be two integers/,
    },
    {
      name: "begin > end",
      bytes: () => rawSafetensors({ x: { ...f32x2, data_offsets: [8, 0] } }, eight),
      re: /begin <= end/,
    },
    {
      name: "negative offset",
      bytes: () => rawSafetensors({ x: { ...f32x2, data_offsets: [-8, 0] } }, eight),
      re: /data_offsets must be two integers/,
    },
    {
      name: "offsets past data",
      bytes: () => rawSafetensors({ x: { ...f32x2, data_offsets: [8, 16] } }, eight),
      re: /run past the data section \(8 bytes\)/,
    },
    {
      name: "overlapping ranges",
      bytes: () =>
        rawSafetensors({ x: f32x2, y: { dtype: "F32", shape: [3], data_offsets: [4, 16] } }, sixteen),
      re: /"x" and "y" overlap/,
    },
    {
      name: "hole between tensors",
      bytes: () =>
        rawSafetensors(
          { x: { dtype: "F32", shape: [1], data_offsets: [0, 4] }, y: { ...f32x2, data_offsets: [8, 16] } },
          sixteen,
        ),
      re: /hole at bytes \[4, 8\)/,
    },
    {
      name: "hole at start",
      bytes: () => rawSafetensors({ x: { ...f32x2, data_offsets: [8, 16] } }, sixteen),
      re: /hole at bytes \[0, 8\)/,
    },
    {
      name: "trailing bytes",
      bytes: () => rawSafetensors({ x: f32x2 }, sixteen),
      re: /8 bytes after the last tensor/,
    },
    {
      name: "size mismatch",
      bytes: () => rawSafetensors({ x: { ...f32x2, shape: [3] } }, eight),
      re: /needs 12 bytes but data_offsets span 8/,
    },
    {
      name: "duplicate tensor name",
      bytes: () => rawSafetensors(`{"x":${JSON.stringify(f32x2)},"x":${JSON.stringify(f32x2)}}`, eight),
      re: /duplicate key "x"/,
    },
    {
      name: "duplicate name via escape",
      bytes: () => rawSafetensors(`{"x":${JSON.stringify(f32x2)},"\\u0078":${JSON.stringify(f32x2)}}`, eight),
      re: /duplicate key "x"/,
    },
    {
      name: "duplicate field inside an entry",
      bytes: () =>
        rawSafetensors('{"x":{"dtype":"F32","dtype":"F16","shape":[2],"data_offsets":[0,8]}}', eight),
      re: /duplicate key "dtype"/,
    },
    {
      name: "metadata not an object",
      bytes: () => rawSafetensors({ __metadata__: "pt" }),
      re: /__metadata__ must be an object/,
    },
    {
      name: "metadata value not a string",
      bytes: () => rawSafetensors({ __metadata__: { epochs: 3 } }),
      re: /__metadata__ value for "epochs" is not a string/,
    },
  ];

  it.each(bad)("rejects $name with a UserError naming the file", ({ bytes, re }) => {
    const p = put(bytes());
    expectUserError(() => openSafetensors(p), p, re);
  });

  it("missing file and directory give UserErrors", () => {
    const missing = join(tmp.dir, "nope.safetensors");
    expectUserError(() => openSafetensors(missing), missing, /no such file/);
    const d = join(tmp.dir, "adir");
    mkdirSync(d);
    expectUserError(() => openSafetensors(d), d, /directory/);
  });

  it("has at least 30 distinct bad-input cases", () => {
    expect(bad.length).toBeGreaterThanOrEqual(30);
  });
});

describe("safetensors fuzzing (property)", () => {
  const valid = serializeSafetensors(sample(), { format: "pt" });

  /** Open, read every tensor, and check each read returns exactly the declared byte range. */
  function check(bytes: Uint8Array): void {
    const p = put(bytes);
    let f: ReturnType<typeof openSafetensors>;
    try {
      f = openSafetensors(p);
    } catch (err) {
      expect(err).toBeInstanceOf(UserError);
      expect((err as UserError).message).toContain(p);
      return;
    }
    try {
      const dataStart = 8 + Number(Buffer.from(bytes).readBigUInt64LE(0));
      for (const [name, t] of f.tensors) {
        expect(dataStart + t.end).toBeLessThanOrEqual(bytes.length);
        expect(Buffer.from(f.readRaw(name))).toEqual(
          Buffer.from(bytes.subarray(dataStart + t.begin, dataStart + t.end)),
        );
        try {
          expect(f.readF32(name).length).toBe(t.shape.reduce((a, b) => a * b, 1));
        } catch (err) {
          expect(err).toBeInstanceOf(UserError); // integer dtypes
        }
      }
    } finally {
      f.close();
    }
  }

  it("random byte mutations: succeed or UserError, reads stay in range", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 6,
        }),
        (muts) => {
          const b = valid.slice();
          for (const [i, v] of muts) b[i] = v;
          check(b);
        },
      ),
      { numRuns: 400 },
    );
  });

  it("mutations inside the header JSON text: succeed or UserError", () => {
    const n = Number(Buffer.from(valid).readBigUInt64LE(0));
    const chars = [...'0123456789{}[],:"\\ -.eFIU'].map((c) => c.charCodeAt(0));
    fc.assert(
      fc.property(fc.nat({ max: n - 1 }), fc.constantFrom(...chars), (i, c) => {
        const b = valid.slice();
        b[8 + i] = c;
        check(b);
      }),
      { numRuns: 400 },
    );
  });

  it("truncations and extensions: succeed or UserError", () => {
    fc.assert(
      fc.property(fc.nat({ max: valid.length + 16 }), (len) => {
        const b = new Uint8Array(len);
        b.set(valid.subarray(0, Math.min(len, valid.length)));
        check(b);
      }),
      { numRuns: 200 },
    );
  });
});
