import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { latestPath, readReport, writeReport } from "../../harness/report/write.ts";
import { makeReport } from "./fixture.ts";

const tmp = () => mkdtempSync(join(tmpdir(), "lora-bench-report-"));

function allFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => statSync(join(dir, f)).isFile())
    .sort();
}

describe("writeReport / readReport", () => {
  it("writes latest + history, 2-space JSON with a trailing newline, and reads it back equal", () => {
    const dir = tmp();
    const report = makeReport();
    const out = writeReport(dir, report);
    expect(out.latest).toBe(join(dir, "latest.json"));
    expect(out.history).toBe(join(dir, "history", "tiny", "2025-11-29T14-03-07Z-0123456.json"));
    const text = readFileSync(out.latest, "utf8");
    expect(text).toBe(`${JSON.stringify(report, null, 2)}\n`);
    expect(readFileSync(out.history, "utf8")).toBe(text);
    expect(readReport(out.latest)).toEqual(report);
    expect(allFiles(dir)).toEqual(["history/tiny/2025-11-29T14-03-07Z-0123456.json", "latest.json"]);
  });

  it("names other profiles' files after the profile and marks dirty trees", () => {
    const dir = tmp();
    const r = makeReport({ profile: "tinyllama" });
    r.provenance.git = { commit: null, dirty: true };
    const out = writeReport(dir, r);
    expect(out.latest).toBe(latestPath(dir, "tinyllama"));
    expect(out.latest.endsWith("latest-tinyllama.json")).toBe(true);
    expect(out.history.endsWith(join("history", "tinyllama", "2025-11-29T14-03-07Z-nogit-dirty.json"))).toBe(
      true,
    );
  });

  it("replaces an existing latest, keeps both history files, leaves no temp file", () => {
    const dir = tmp();
    writeReport(dir, makeReport());
    const second = makeReport({ created_at: "2025-11-30T01:00:00Z" });
    second.arms[0].metrics!.rouge1.mean = 0.25;
    writeReport(dir, second);
    expect(readReport(latestPath(dir)).arms[0].metrics!.rouge1.mean).toBe(0.25);
    expect(allFiles(dir)).toEqual([
      "history/tiny/2025-11-29T14-03-07Z-0123456.json",
      "history/tiny/2025-11-30T01-00-00Z-0123456.json",
      "latest.json",
    ]);
  });

  it("does not rewrite files whose bytes would not change", () => {
    const dir = tmp();
    const out = writeReport(dir, makeReport());
    const before = statSync(out.latest).mtimeMs;
    const ino = statSync(out.latest).ino;
    writeReport(dir, makeReport());
    expect(statSync(out.latest).ino).toBe(ino); // a rename would give a new inode
    expect(statSync(out.latest).mtimeMs).toBe(before);
  });

  it("validates before writing: an invalid report writes nothing", () => {
    const dir = tmp();
    const bad = makeReport();
    (bad.arms[0] as any).kind = "nope";
    expect(() => writeReport(dir, bad)).toThrow(/latest\.json: invalid report: \$\.arms\[0\]\.kind/);
    expect(allFiles(dir)).toEqual([]);
  });

  it("readReport: missing file, bad JSON and invalid content are one-line errors naming the file", () => {
    const dir = tmp();
    const f = join(dir, "r.json");
    expect(() => readReport(f)).toThrow(`${f}: no such file or directory`);
    writeFileSync(f, "{ nope");
    expect(() => readReport(f)).toThrow(new RegExp(`^${f}: not valid JSON: `));
    writeFileSync(f, JSON.stringify({ ...makeReport(), profile: "" }));
    expect(() => readReport(f)).toThrow(`${f}: invalid report: $.profile: must match pattern`);
  });
});
