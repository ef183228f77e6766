/**
 * Property tests: every parser either accepts its input or throws the project's UserError naming the
 * file (never a TypeError, RangeError, …), and never hands out bytes outside the declared ranges;
 * ROUGE's basic laws. test/engine/safetensors.test.ts already fuzzes raw bytes of one valid file;
 * here the headers themselves are generated.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { readParquet, writeParquet } from "../../harness/data/parquet.ts";
import { readJsonl } from "../../harness/data/records.ts";
import { loadAdapter } from "../../harness/engine/adapter-io.ts";
import { openSafetensors } from "../../harness/engine/safetensors.ts";
import { UserError } from "../../harness/errors.ts";
import { readPairs } from "../../harness/metrics/pairs.ts";
import { ROUGE_TYPES, rougeScore } from "../../harness/metrics/rouge.ts";
import { rougeTokenize } from "../../harness/metrics/tokenize.ts";
import { parseReport } from "../../harness/report/write.ts";
import { validateConfig } from "../../harness/study/config.ts";
import { tempDir } from "../cli-helpers.ts";
import { makeReport } from "../report/fixture.ts";
import { CASE_MODEL, rawSafetensors, writeAdapter } from "./cases.ts";

const root = tempDir("lora-bench-props-");
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (ext: string) => join(root, `f${++n}${ext}`);

/** fn() either returns or throws a one-line UserError whose message contains `names`. */
function userErrorOrOk<T>(fn: () => T, names: string): T | undefined {
  try {
    return fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(names);
    expect((err as Error).message).not.toContain("\n");
    return undefined;
  }
}

async function userErrorOrOkAsync<T>(fn: () => Promise<T>, names: string): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain(names);
    return undefined;
  }
}

/** Every JSON path of a value, for picking one to mutate. */
function paths(v: unknown, at: (string | number)[] = []): (string | number)[][] {
  const out = [at];
  if (v && typeof v === "object")
    for (const [k, x] of Object.entries(v)) out.push(...paths(x, [...at, Array.isArray(v) ? Number(k) : k]));
  return out;
}

/** A deep copy of v with the value at path replaced (or deleted when `value` is undefined). */
function mutate(v: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy: any = structuredClone(v);
  let o = copy;
  for (const k of path.slice(0, -1)) o = o[k];
  const last = path.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(o)) o.splice(Number(last), 1);
    else delete o[last];
  } else o[last] = value;
  return copy;
}

const anyJson = fc.oneof(
  fc.jsonValue({ maxDepth: 2 }),
  fc.constantFrom(-1, 0, 1.5, 1e300, "", "x", null, [], {}, true),
  fc.constant(undefined),
);

describe("safetensors headers (generated)", () => {
  const DTYPES = ["F32", "F16", "BF16", "F64", "I64", "I32", "U8", "BOOL", "F8_E4M3", "f32", 7] as const;
  const SIZE: Record<string, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, U8: 1, BOOL: 1 };
  /** Mostly well-formed tilings of the data section, then one field perturbed (or not). */
  const header = fc
    .record({
      entries: fc.array(
        fc.record({
          name: fc.constantFrom("a", "b", "c", "model.norm.weight", "__metadata__", "a"),
          dtype: fc.constantFrom(...DTYPES),
          shape: fc.array(fc.integer({ min: 0, max: 4 }), { maxLength: 3 }),
        }),
        { maxLength: 4 },
      ),
      perturb: fc.option(
        fc.record({
          entry: fc.nat(),
          field: fc.constantFrom("shape", "data_offsets", "dtype", "begin", "end"),
          value: fc.oneof(fc.integer({ min: -8, max: 80 }), anyJson),
        }),
      ),
      extra: fc.integer({ min: -4, max: 8 }),
    })
    .map(({ entries, perturb, extra }) => {
      const parts: [string, Record<string, unknown>][] = [];
      let off = 0;
      for (const e of entries) {
        const bytes = e.shape.reduce((a, b) => a * b, 1) * (SIZE[e.dtype as string] ?? 4);
        parts.push([e.name, { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + bytes] }]);
        off += bytes;
      }
      if (perturb && parts.length) {
        const p = parts[perturb.entry % parts.length][1];
        const offs = p.data_offsets as number[];
        if (perturb.field === "begin") offs[0] = Number(perturb.value) || 0;
        else if (perturb.field === "end") offs[1] = Number(perturb.value) || 0;
        else p[perturb.field] = perturb.value;
      }
      // Built as text so duplicate names stay duplicates.
      const text = `{${parts.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`;
      return rawSafetensors(
        text,
        new Uint8Array(Math.max(0, off + extra)).map((_, i) => i & 255),
      );
    });

  it("open: UserError naming the file, or every tensor reads exactly its declared in-file range", () => {
    const seen = { ok: 0, rejected: 0 };
    fc.assert(
      fc.property(header, (bytes) => {
        const p = fresh(".safetensors");
        writeFileSync(p, bytes);
        const f = userErrorOrOk(() => openSafetensors(p), p);
        seen[f ? "ok" : "rejected"] += 1;
        if (!f) return;
        try {
          const dataStart = 8 + Number(Buffer.from(bytes).readBigUInt64LE(0));
          const ranges = [...f.tensors.values()].sort((a, b) => a.begin - b.begin);
          let pos = 0;
          for (const t of ranges) {
            expect(t.begin).toBe(pos); // tiles the data section: no overlap, no hole
            pos = t.end;
          }
          expect(dataStart + pos).toBe(bytes.length);
          for (const [name, t] of f.tensors) {
            expect(t.end - t.begin).toBe(t.shape.reduce((a, b) => a * b, 1) * SIZE[t.dtype]);
            expect(Buffer.from(f.readRaw(name))).toEqual(
              Buffer.from(bytes.subarray(dataStart + t.begin, dataStart + t.end)),
            );
            userErrorOrOk(() => f.readF32(name), p);
          }
        } finally {
          f.close();
        }
      }),
      { numRuns: 400 },
    );
    // The generator must exercise both sides.
    expect(seen.ok).toBeGreaterThan(20);
    expect(seen.rejected).toBeGreaterThan(20);
  });
});

describe("adapter_config.json mutations", () => {
  const base = join(root, "adapter");
  writeAdapter(base, CASE_MODEL);
  const cfg = JSON.parse(readFileSync(join(base, "adapter_config.json"), "utf8"));
  const keys = [...Object.keys(cfg), "new_key"];

  it("loadAdapter accepts or throws a UserError naming a file of the adapter", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom(...keys), anyJson), { minLength: 1, maxLength: 3 }),
        (muts) => {
          let c: unknown = cfg;
          for (const [k, v] of muts) c = mutate(c, [k], v);
          const dir = join(root, `ad${++n}`);
          mkdirSync(dir);
          writeFileSync(join(dir, "adapter_config.json"), JSON.stringify(c));
          writeFileSync(
            join(dir, "adapter_model.safetensors"),
            readFileSync(join(base, "adapter_model.safetensors")),
          );
          userErrorOrOk(() => loadAdapter(dir, CASE_MODEL), dir);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe("JSONL lines", () => {
  const good = fc
    .record({ id: fc.string(), article: fc.string(), highlights: fc.string() })
    .map((r) => JSON.stringify(r));
  const line = fc.oneof(
    { weight: 4, arbitrary: good },
    { weight: 1, arbitrary: fc.json({ maxDepth: 2 }) },
    { weight: 1, arbitrary: fc.string().filter((s) => !s.includes("\n")) },
    {
      weight: 1,
      arbitrary: fc.constantFrom("", "  ", "\r", "{", '{"id": 1, "article": "a", "highlights": "b"}'),
    },
  );
  /** 1-based number of the first line that is not blank and not a record, or 0. */
  function firstBad(lines: string[]): number {
    for (let i = 0; i < lines.length; i++) {
      const t = lines[i].trim();
      if (t === "") continue;
      let o: any;
      try {
        o = JSON.parse(t);
      } catch {
        return i + 1;
      }
      const ok =
        o !== null &&
        typeof o === "object" &&
        !Array.isArray(o) &&
        ["id", "article", "highlights"].every((k) => typeof o[k] === "string");
      if (!ok) return i + 1;
    }
    return 0;
  }

  it("readJsonl returns every record or names file:line of the first bad line", () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 8 }), (lines) => {
        const p = fresh(".jsonl");
        writeFileSync(p, lines.join("\n"));
        const bad = firstBad(lines);
        const out = userErrorOrOk(() => readJsonl(p), bad ? `${p}:${bad}:` : "(no error expected)");
        if (!bad) expect(out).toHaveLength(lines.filter((l) => l.trim() !== "").length);
      }),
      { numRuns: 300 },
    );
  });

  it("readPairs (rouge --input) accepts or throws a UserError naming the file", () => {
    const pair = fc
      .record({ prediction: fc.string(), reference: fc.oneof(fc.string(), fc.array(fc.string())) })
      .map((r) => JSON.stringify(r));
    fc.assert(
      fc.property(fc.array(fc.oneof(pair, line), { maxLength: 6 }), (lines) => {
        const p = fresh(".jsonl");
        writeFileSync(p, lines.join("\n"));
        userErrorOrOk(() => readPairs(p), p);
      }),
      { numRuns: 300 },
    );
  });
});

describe("parquet byte mutations", () => {
  const src = join(root, "valid.parquet");
  writeParquet(
    src,
    Array.from({ length: 6 }, (_, i) => ({
      id: `id${i}`,
      article: `Article ${i} text.`,
      highlights: `Fact ${i}.`,
    })),
  );
  const valid = readFileSync(src);

  it("readParquet returns string records or throws a UserError naming the file", async () => {
    const seen = { ok: 0, rejected: 0 };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat({ max: valid.length - 1 }), fc.integer({ min: 0, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        fc.option(fc.nat({ max: valid.length })),
        async (muts, cut) => {
          const b = Buffer.from(valid);
          for (const [i, v] of muts) b[i] = v;
          const p = fresh(".parquet");
          writeFileSync(p, cut === null ? b : b.subarray(0, cut));
          const rows = await userErrorOrOkAsync(() => readParquet(p), p);
          seen[rows ? "ok" : "rejected"] += 1;
          for (const r of rows ?? [])
            for (const k of ["id", "article", "highlights"] as const) expect(typeof r[k]).toBe("string");
        },
      ),
      { numRuns: 300 },
    );
    // Pages are compressed, so most changed bytes are caught; some land where they are harmless.
    expect(seen.ok).toBeGreaterThan(0);
    expect(seen.rejected).toBeGreaterThan(10);
  });
});

describe("report JSON mutations", () => {
  const report = makeReport();
  const all = paths(report);

  it("parseReport returns a report or a one-line UserError naming the file", () => {
    fc.assert(
      fc.property(fc.constantFrom(...all), anyJson, (path, value) => {
        const file = "/reports/mutated.json";
        userErrorOrOk(() => parseReport(JSON.stringify(mutate(report, path, value)), file), file);
      }),
      { numRuns: 500 },
    );
  });

  it("truncated report text is a UserError naming the file", () => {
    const text = JSON.stringify(report, null, 2);
    fc.assert(
      fc.property(fc.nat({ max: text.length - 2 }), (cut) => {
        expect(() => parseReport(text.slice(0, cut), "/r.json")).toThrow(UserError);
      }),
      { numRuns: 100 },
    );
  });
});

describe("bench config mutations", () => {
  const profile = {
    description: "d",
    model: { source: "m" },
    dataset: { source: "d", config: "3.0.0", trainSplit: "train", evalSplit: "test" },
    data: { trainN: 8, evalN: 4, subsetSeed: 0 },
    seeds: [1],
    prompt: { instruction: "i", articleTokenBudget: 48, maxTargetTokens: 16 },
    lora: { alpha: 16, dropout: 0, targetModules: ["q_proj"] },
    training: {
      epochs: 1,
      lr: 1e-3,
      batchSize: 4,
      gradAccum: 1,
      weightDecay: 0,
      warmupRatio: 0,
      maxGradNorm: 1,
    },
    decoding: { maxNewTokens: 4, batchSize: 4 },
    rouge: { useStemmer: false, bootstrapResamples: 1000 },
    arms: [
      { id: "base", kind: "base" },
      { id: "lora-r8", kind: "lora", r: 8 },
    ],
    device: "cpu",
  };
  const config = {
    defaultProfile: "tiny",
    cacheDir: "c",
    reportsDir: "r",
    readme: "R.md",
    profiles: { tiny: profile },
  };
  const all = paths(config);

  it("validateConfig accepts or throws a UserError naming the file", () => {
    fc.assert(
      fc.property(fc.constantFrom(...all), anyJson, (path, value) => {
        userErrorOrOk(
          () => validateConfig(mutate(config, path, value), "bench.config.ts"),
          "bench.config.ts",
        );
      }),
      { numRuns: 500 },
    );
  });
});

describe("ROUGE laws", () => {
  const word = fc.constantFrom(
    "the",
    "The",
    "cat",
    "sat",
    "on",
    "mat",
    "dog",
    "ran",
    "1",
    "22",
    "café",
    "-",
    ",",
    ".",
    "!",
  );
  const text = fc
    .array(fc.oneof({ weight: 8, arbitrary: word }, { weight: 1, arbitrary: fc.constant("\n") }), {
      maxLength: 14,
    })
    .map((ws) => ws.join(" "));
  const anyText = fc.oneof(text, fc.string({ maxLength: 30 }));

  it("identical texts score 1 (rouge1/L/Lsum with ≥ 1 token, rouge2 with ≥ 2 tokens), else 0 when empty", () => {
    fc.assert(
      fc.property(anyText, (t) => {
        const s = rougeScore(t, t);
        const tokens = rougeTokenize(t).length;
        for (const k of ["rouge1", "rougeL", "rougeLsum"] as const)
          expect(s[k].fmeasure, k).toBe(tokens >= 1 ? 1 : 0);
        expect(s.rouge2.fmeasure).toBe(tokens >= 2 ? 1 : 0);
      }),
      { numRuns: 500 },
    );
  });

  it("swapping prediction and reference swaps precision and recall (rouge1, rouge2, rougeL)", () => {
    fc.assert(
      fc.property(anyText, anyText, (a, b) => {
        const ab = rougeScore(a, b);
        const ba = rougeScore(b, a);
        for (const k of ["rouge1", "rouge2", "rougeL"] as const) {
          expect(ab[k].precision, k).toBe(ba[k].recall);
          expect(ab[k].recall, k).toBe(ba[k].precision);
          expect(ab[k].fmeasure, k).toBe(ba[k].fmeasure);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("every score is in [0, 1], with one reference or several", () => {
    fc.assert(
      fc.property(
        anyText,
        fc.array(anyText, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (pred, refs, stem) => {
          const s = rougeScore(refs, pred, { stem });
          for (const k of ROUGE_TYPES)
            for (const v of [s[k].precision, s[k].recall, s[k].fmeasure]) {
              expect(v).toBeGreaterThanOrEqual(0);
              expect(v).toBeLessThanOrEqual(1);
            }
        },
      ),
      { numRuns: 500 },
    );
  });
});
