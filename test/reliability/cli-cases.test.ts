/**
 * Every case of the bad-input table through the real CLI: exit 2, one line naming the file and the
 * problem, no stack trace, no file left behind. The cases run side by side in beforeAll; each `it`
 * reports one case.
 */
import { rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tempDir } from "../cli-helpers.ts";
import { buildFixtures, CASES, type CaseOutcome, pool, runCase } from "./cases.ts";

const root = tempDir("lora-bench-reliability-");
const outcomes = new Map<string, CaseOutcome>();

beforeAll(async () => {
  const fx = await buildFixtures(join(root, "fixtures"));
  const res = await pool(CASES, 3, (c, i) => runCase(c, join(root, `case-${i}`), fx));
  for (const r of res) outcomes.set(r.id, r);
}, 400_000);
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("bad inputs through the real CLI", () => {
  it("has at least 40 distinct cases over every format the issue names", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(40);
    expect(new Set(CASES.map((c) => c.id)).size).toBe(CASES.length);
    const formats = new Set(CASES.map((c) => c.format));
    for (const f of [
      "safetensors",
      "sharded index",
      "config.json",
      "adapter",
      "tokenizer",
      "parquet",
      "jsonl",
      "report JSON",
      "bench config",
    ])
      expect(formats, f).toContain(f);
  });

  it.each(CASES.map((c) => [c.id]))("%s: exit 2, one line naming file and problem, nothing written", (id) => {
    const o = outcomes.get(id)!;
    expect(o, "case did not run").toBeDefined();
    expect(o.problems).toEqual([]);
  });
});
