import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_SPLITS, generateCorpus } from "../../fixtures/lib/synthetic.ts";
import { loadSplit } from "../../harness/data/load.ts";
import { recordsSha256, selectSubset, studySubsets } from "../../harness/data/subset.ts";
import { UserError } from "../../harness/errors.ts";

const repoRoot = resolve(import.meta.dirname, "../..");
const FIXTURE = resolve(repoRoot, "fixtures/data/synthetic-news");
const words = (s: string) => s.split(/\s+/).filter(Boolean).length;

describe("seeded subsets", () => {
  const recs = generateCorpus(3, "subset", 300).map((a) => a.record);

  it("same seed and stream → same records and sha256; another seed or stream → different", () => {
    const a = selectSubset(recs, 100, 7, "data/train-subset");
    const b = selectSubset(recs, 100, 7, "data/train-subset");
    expect(b.ids).toEqual(a.ids);
    expect(b.sha256).toBe(a.sha256);
    expect(new Set(a.ids).size).toBe(100);
    expect(selectSubset(recs, 100, 8, "data/train-subset").sha256).not.toBe(a.sha256);
    expect(selectSubset(recs, 100, 7, "other").sha256).not.toBe(a.sha256);
  });

  it("sha256 is over the canonical JSON of [id, article, highlights] in order", () => {
    const s = selectSubset(recs, 3, 1, "x");
    expect(s.sha256).toBe(recordsSha256(s.records));
    expect(s.records).toEqual(s.indices.map((i) => recs[i]));
    const canon = '[["a","b","c"]]';
    expect(recordsSha256([{ highlights: "c", article: "b", id: "a" }])).toBe(
      createHash("sha256").update(canon).digest("hex"),
    );
  });

  it("the study's train and eval draws come from separate named streams", () => {
    const { train, eval: ev } = studySubsets({ train: recs, test: recs }, { seed: 42 });
    expect(train.records).toHaveLength(100);
    expect(ev.records).toHaveLength(100);
    expect(train.stream).not.toBe(ev.stream);
    // Drawing more for eval does not move the train draw.
    expect(studySubsets({ train: recs, test: recs }, { seed: 42, evalN: 150 }).train.ids).toEqual(train.ids);
  });

  it("empty subset and N larger than the split are user errors naming the split", () => {
    expect(() => selectSubset(recs, 0, 1, "s", "data/x (train)")).toThrow(UserError);
    expect(() => selectSubset(recs, 0, 1, "s", "data/x (train)")).toThrow(
      /^data\/x \(train\): subset size must be a positive integer, got 0/,
    );
    expect(() => selectSubset(recs, 301, 1, "s", "data/x (train)")).toThrow(
      /^data\/x \(train\): subset of 301 records asked, but the split has only 300/,
    );
    expect(() => selectSubset([], 1, 1, "s")).toThrow(UserError);
  });
});

describe("synthetic news corpus", () => {
  const arts = generateCorpus(99, "check", 400);

  it("is deterministic from its seed (same seed → same sha256)", () => {
    const again = generateCorpus(99, "check", 400);
    expect(recordsSha256(again.map((a) => a.record))).toBe(recordsSha256(arts.map((a) => a.record)));
    expect(recordsSha256(generateCorpus(100, "check", 400).map((a) => a.record))).not.toBe(
      recordsSha256(arts.map((a) => a.record)),
    );
    // Each article has its own stream: a longer corpus starts with the same articles.
    expect(generateCorpus(99, "check", 5).map((a) => a.record)).toEqual(
      arts.slice(0, 5).map((a) => a.record),
    );
  });

  it("looks like CNN/DM: 150-400 words, 3-4 highlights ending like HF's, sha1 ids", () => {
    for (const { record: r } of arts) {
      expect(words(r.article)).toBeGreaterThanOrEqual(150);
      expect(words(r.article)).toBeLessThanOrEqual(400);
      const hl = r.highlights.split("\n");
      expect(hl.length).toBeGreaterThanOrEqual(3);
      expect(hl.length).toBeLessThanOrEqual(4);
      for (const h of hl) expect(h).toMatch(/ \.$|[.!?'"]$/);
      expect(r.id).toMatch(/^[0-9a-f]{40}$/);
      expect(r.article).not.toMatch(/\n/);
    }
    expect(new Set(arts.map((a) => a.topic)).size).toBe(8);
  });

  it("highlights are derivable (their names and numbers are in the article) but shorter and not the lead", () => {
    for (const { record: r, paragraphs } of arts) {
      const lead = paragraphs[0];
      for (const h of r.highlights.split("\n")) {
        expect(words(h)).toBeLessThan(words(lead) + 8);
        expect(lead.startsWith(h.replace(/ \.$/, ""))).toBe(false);
        const nums = h.match(/[£$]?\d[\d,.]*/g) ?? [];
        for (const n of nums) expect(r.article).toContain(n.replace(/[.,]$/, ""));
      }
    }
  });

  it("has a vocabulary of a few thousand words", () => {
    const vocab = new Set<string>();
    for (const { record: r } of arts)
      for (const w of `${r.article} ${r.highlights}`.toLowerCase().match(/[a-z]+/g)!) vocab.add(w);
    expect(vocab.size).toBeGreaterThan(1200);
    expect(vocab.size).toBeLessThan(4000);
  });

  it("the committed fixture files are what the generator makes from the recorded seed", async () => {
    const manifest = JSON.parse(readFileSync(resolve(FIXTURE, "manifest.json"), "utf8"));
    for (const [split, count] of Object.entries(DEFAULT_SPLITS)) {
      const onDisk = await loadSplit(FIXTURE, split);
      expect(onDisk).toHaveLength(count);
      expect(recordsSha256(onDisk)).toBe(manifest.splits[split].sha256);
    }
    const val = generateCorpus(manifest.seed, "validation", DEFAULT_SPLITS.validation).map((a) => a.record);
    expect(recordsSha256(val)).toBe(manifest.splits.validation.sha256);
  });
});
