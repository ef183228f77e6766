import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it, vi } from "vitest";
import rouge from "../../harness/cli/commands/rouge.ts";
import { UserError } from "../../harness/errors.ts";
import { evaluateAggregate } from "../../harness/metrics/numpy.ts";
import { rougeScore } from "../../harness/metrics/rouge.ts";

const dir = mkdtempSync(join(tmpdir(), "rouge-cmd-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, text: string): string {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
}

async function runCapture(argv: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = "";
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  try {
    return { code: await rouge.run(argv), stdout };
  } finally {
    spy.mockRestore();
  }
}

const LINES = [
  { prediction: "The cat sat on the mat.", reference: "A cat sat on a mat." },
  { prediction: "Police said running\nwas banned", reference: ["police say runners are banned", "nothing"] },
  { prediction: "", reference: "empty prediction" },
];

describe("lora-bench rouge", () => {
  it("prints one JSON object with per-pair scores in input order and an aggregate", async () => {
    const p = file("ok.jsonl", `${LINES.map((l) => JSON.stringify(l)).join("\n")}\n\n\n`);
    const { code, stdout } = await runCapture(["--input", p, "--stem", "--json"]);
    expect(code).toBe(0);
    expect(stdout.trim().split("\n")).toHaveLength(1);
    const out = JSON.parse(stdout);
    expect(Object.keys(out)).toEqual(["pairs", "aggregate"]);
    expect(out.pairs).toEqual(LINES.map((l) => rougeScore(l.reference, l.prediction, { stem: true })));
    const f1 = out.pairs.map((s: { rouge1: { fmeasure: number } }) => s.rouge1.fmeasure);
    expect(out.aggregate.rouge1.mean).toBeCloseTo((f1[0] + f1[1] + f1[2]) / 3, 15);
    for (const k of ["rouge1", "rouge2", "rougeL", "rougeLsum"]) {
      expect(Object.keys(out.aggregate[k])).toEqual(["mean", "low", "mid", "high"]);
    }
  });

  it("is indented without --json, and --numpy-seed gives evaluate's bootstrap", async () => {
    const p = file("np.jsonl", LINES.map((l) => JSON.stringify(l)).join("\n"));
    const { stdout } = await runCapture(["--input", p, "--numpy-seed", "42"]);
    expect(stdout.split("\n").length).toBeGreaterThan(10);
    const out = JSON.parse(stdout);
    const np = evaluateAggregate(
      LINES.map((l) => rougeScore(l.reference, l.prediction)),
      42,
    );
    expect(out.aggregate.rougeL).toMatchObject(np.rougeL);
  });

  it.each([
    ["not json", "{oops", /bad\.jsonl:2: not valid JSON/],
    ["missing field", '{"prediction": "x"}', /bad\.jsonl:2: missing field "reference"/],
    [
      "wrong type",
      '{"prediction": 3, "reference": "x"}',
      /bad\.jsonl:2: "prediction" must be a string, got number/,
    ],
    [
      "bad reference",
      '{"prediction": "x", "reference": [1]}',
      /bad\.jsonl:2: "reference" must be a string or/,
    ],
    ["empty refs", '{"prediction": "x", "reference": []}', /bad\.jsonl:2: "reference" must be/],
    ["not an object", "[1, 2]", /bad\.jsonl:2: expected an object/],
    ["blank line inside", '\n{"prediction": "x", "reference": "y"}', /bad\.jsonl:2: blank line/],
  ])("rejects a bad line (%s) naming file and line", async (_, second, msg) => {
    const p = file("bad.jsonl", `{"prediction": "a", "reference": "b"}\n${second}\n`);
    const err = await rouge.run(["--input", p]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(msg);
    expect((err as Error).message).not.toContain("\n");
  });

  it("accepts CRLF line ends and a byte-order mark", async () => {
    const p = file("crlf.jsonl", `\uFEFF${LINES.map((l) => JSON.stringify(l)).join("\r\n")}\r\n`);
    const { stdout } = await runCapture(["--input", p, "--json"]);
    expect(JSON.parse(stdout).pairs).toHaveLength(3);
  });

  it("rejects a missing or empty file and a missing --input", async () => {
    await expect(rouge.run(["--input", join(dir, "nope.jsonl")])).rejects.toThrow(
      /nope\.jsonl: no such file/,
    );
    await expect(rouge.run(["--input", file("empty.jsonl", "\n\n")])).rejects.toThrow(
      /empty\.jsonl: no pairs/,
    );
    await expect(rouge.run([])).rejects.toThrow(UserError);
    await expect(rouge.run(["--input", "x", "--bogus"])).rejects.toThrow(UserError);
  });
});
