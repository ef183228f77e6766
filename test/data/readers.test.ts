import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parquetWriteBuffer } from "hyparquet-writer";
import { afterAll, describe, expect, it } from "vitest";
import { generateCorpus } from "../../fixtures/lib/synthetic.ts";
import { loadSplit } from "../../harness/data/load.ts";
import { readParquet, writeParquet } from "../../harness/data/parquet.ts";
import {
  fixMissingPeriod,
  parseStory,
  pyStrip,
  readJsonl,
  readStory,
  readStoryDir,
  toStory,
} from "../../harness/data/records.ts";
import { UserError } from "../../harness/errors.ts";

const repoRoot = resolve(import.meta.dirname, "../..");

const tmp = mkdtempSync(join(tmpdir(), "readers-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

async function userError(p: Promise<unknown> | (() => unknown)): Promise<UserError> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return e as UserError;
  }
  throw new Error("expected a UserError");
}

describe(".story parsing follows HF's cnn_dailymail loader", () => {
  it("strips lines, skips blanks, takes the line after @highlight, appends ' .' where the end token is missing", () => {
    const text =
      "  First line.\r\n\nA caption without period\n\n@highlight\n\nFact one\n\n@highlight\n\nFact two!\n";
    expect(parseStory(text)).toEqual({
      article: "First line. A caption without period .",
      highlights: "Fact one .\nFact two!",
    });
  });

  it("end tokens include quotes, closing quotes and brackets", () => {
    for (const end of [".", "!", "?", "...", "'", "`", '"', "\u2019", "\u201d", ")"]) {
      expect(fixMissingPeriod(`Said so${end}`)).toBe(`Said so${end}`);
    }
    expect(fixMissingPeriod("No end")).toBe("No end .");
    expect(fixMissingPeriod("@highlight")).toBe("@highlight");
  });

  it("strips like Python's str.strip, not JS trim", () => {
    expect(pyStrip("\u00a0 x \u2003")).toBe("x");
    expect(pyStrip("\ufeffx")).toBe("\ufeffx"); // Python keeps a BOM; trim() would drop it
    expect(pyStrip("\x1cx\x1f")).toBe("x"); // Python strips file separators; trim() does not
  });
});

describe("the same records from parquet, JSONL and .story", () => {
  const arts = generateCorpus(11, "formats", 25);
  const records = arts.map((a) => a.record);
  const dir = join(tmp, "formats");
  writeParquet(join(dir, "pq", "3.0.0", "validation-00000-of-00002.parquet"), records.slice(0, 10));
  writeParquet(join(dir, "pq", "3.0.0", "validation-00001-of-00002.parquet"), records.slice(10));
  mkdirSync(join(dir, "jsonl"), { recursive: true });
  writeFileSync(
    join(dir, "jsonl", "validation.jsonl"),
    records.map((r) => `${JSON.stringify(r)}\n`).join(""),
  );
  mkdirSync(join(dir, "story", "validation"), { recursive: true });
  for (const a of arts) {
    writeFileSync(
      join(dir, "story", "validation", `${a.record.id}.story`),
      toStory(a.paragraphs, a.rawHighlights),
    );
  }
  const sortById = <T extends { id: string }>(xs: T[]) => [...xs].sort((a, b) => a.id.localeCompare(b.id));

  it("loadSplit reads each layout and all three agree", async () => {
    const fromPq = await loadSplit(join(dir, "pq"), "validation");
    const fromJsonl = await loadSplit(join(dir, "jsonl"), "validation");
    const fromStory = await loadSplit(join(dir, "story"), "validation");
    expect(fromPq).toEqual(records); // shards concatenated in order
    expect(fromJsonl).toEqual(records);
    expect(sortById(fromStory)).toEqual(sortById(records)); // .story dirs are read in file-name order
  });

  it("the committed fixture corpus loads in its Hub layout, with its JSONL and .story samples agreeing", async () => {
    const fx = resolve(repoRoot, "fixtures/data/synthetic-news");
    const val = await loadSplit(fx, "validation");
    expect(val).toHaveLength(200);
    const sample = readJsonl(join(fx, "sample.jsonl"));
    expect(sample).toEqual(val.slice(0, sample.length));
    expect(sortById(readStoryDir(join(fx, "sample")))).toEqual(sortById(sample));
  });

  it("readStory takes the id from the file name", () => {
    const a = arts[0];
    const p = join(dir, "story", "validation", `${a.record.id}.story`);
    expect(readStory(p).id).toBe(a.record.id);
  });
});

describe("bad input: one-line user errors naming the file", () => {
  it("JSONL line that is not JSON names the line", async () => {
    const p = join(tmp, "bad.jsonl");
    writeFileSync(p, `${JSON.stringify({ id: "a", article: "x", highlights: "y" })}\n{"id": "b", oops\n`);
    const e = await userError(() => readJsonl(p));
    expect(e.message).toBe(`${p}:2: not valid JSON`);
  });

  it("JSONL line missing a field names the field", async () => {
    const p = join(tmp, "missing.jsonl");
    writeFileSync(p, `${JSON.stringify({ id: "a", article: "x" })}\n`);
    expect((await userError(() => readJsonl(p))).message).toBe(`${p}:1: missing field "highlights"`);
  });

  it("missing split names what was looked for", async () => {
    const e = await userError(loadSplit(join(tmp, "formats", "jsonl"), "train"));
    expect(e.message).toMatch(
      /split "train" not found: looked for 3\.0\.0\/train-\*\.parquet, train-\*\.parquet, train\.jsonl, train\/\*\.story/,
    );
    expect(e.file).toBe(join(tmp, "formats", "jsonl"));
  });

  it("missing parquet shard", async () => {
    const d = join(tmp, "shards", "3.0.0");
    writeParquet(
      join(d, "train-00001-of-00002.parquet"),
      generateCorpus(1, "x", 2).map((a) => a.record),
    );
    const e = await userError(loadSplit(join(tmp, "shards"), "train"));
    expect(e.message).toMatch(/missing parquet shard train-00000-of-00002\.parquet/);
  });

  it("missing column names the column", async () => {
    const p = join(tmp, "nocol.parquet");
    const buf = parquetWriteBuffer({
      columnData: [
        { name: "article", data: ["a"], type: "STRING" },
        { name: "id", data: ["1"], type: "STRING" },
      ],
    });
    writeFileSync(p, new Uint8Array(buf));
    const e = await userError(readParquet(p));
    expect(e.message).toBe(`${p}: missing column "highlights" (has: article, id)`);
  });

  it("parquet cut short", async () => {
    const p = join(tmp, "cut.parquet");
    writeParquet(
      p,
      generateCorpus(2, "cut", 5).map((a) => a.record),
    );
    truncateSync(p, Math.floor(readFileSync(p).length / 2));
    expect((await userError(readParquet(p))).message).toBe(`${p}: parquet file cut short (truncated)`);
  });

  it("not a parquet file", async () => {
    const p = join(tmp, "fake.parquet");
    writeFileSync(p, "id,article,highlights\n1,a,b\n");
    expect((await userError(readParquet(p))).message).toBe(`${p}: not a parquet file`);
  });

  it("a missing file or directory", async () => {
    expect((await userError(() => readJsonl(join(tmp, "nope.jsonl")))).message).toMatch(
      /nope\.jsonl: no such file/,
    );
    expect((await userError(loadSplit(join(tmp, "no-dir"), "train"))).message).toMatch(/not a directory/);
  });
});
