import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { END_MARKER, renderResults, START_MARKER, updateReadme } from "../../harness/report/readme.ts";
import { makeArm, makeClaim, makeReport } from "./fixture.ts";

const BEFORE = "# lora-bench\n\nIntro text | with a pipe.\n\n";
const AFTER = "\n\n## Install\n\nnpm ci\n";

function readme(middle = "\nold results\n"): string {
  const dir = mkdtempSync(join(tmpdir(), "lora-bench-readme-"));
  const path = join(dir, "README.md");
  writeFileSync(path, `${BEFORE}${START_MARKER}${middle}${END_MARKER}${AFTER}`);
  return path;
}

describe("renderResults", () => {
  it("shows provenance, the study table with published beside reproduced, claims, and the chart link", () => {
    const text = renderResults(makeReport());
    expect(text).toContain(
      "commit `0123456` · device `cpu` · run 2025-11-29 · 3 seeds · N = 2 train / 2 eval",
    );
    expect(text).toMatch(
      /\| ROUGE-2 +\| +0\.092 \| +0\.092 \[0\.082, 0\.102\] \| +0\.104 \| 0\.104 \[0\.094, 0\.114\] \|/,
    );
    expect(text).toMatch(/\| ROUGE-Lsum \| +— \|/); // not published
    expect(text).toContain("✅ holds");
    expect(text).toContain("❔ inconclusive");
    expect(text).toContain("+0.012 [+0.004, +0.020] (+13.0%)");
    expect(text).toMatch(/ 0\.00102 \|/); // a "value" claim far below 0.001 keeps its digits
    expect(text).toContain("![ROUGE by arm, profile tiny](reports/rouge-tiny.svg)");
    expect(text).not.toContain("Other arms");
  });

  it("puts rsLoRA and N-sweep arms in a second table, and escapes pipes in claim names", () => {
    const r = makeReport({ claims: [makeClaim("c", { name: "a | b", verdict: "fails" })] });
    r.arms.push(
      makeArm("lora-r32-rslora", { label: "LoRA r=32 (rsLoRA)" }),
      makeArm("lora-r8-n250", { train_n: 250 }),
    );
    const text = renderResults(r);
    expect(text).toContain("#### Other arms");
    expect(text).toMatch(/\| LoRA r=32 \(rsLoRA\) \(`lora-r32-rslora`\) \| +100 \| +4,505,600 \|/);
    expect(text).toContain("| a \\| b ");
    expect(text).toContain("❌ fails");
  });

  it("is deterministic and depends on created_at only through its date", () => {
    const a = renderResults(makeReport());
    expect(renderResults(makeReport())).toBe(a);
    expect(renderResults(makeReport({ created_at: "2025-11-29T23:59:59Z" }))).toBe(a);
  });
});

describe("updateReadme", () => {
  it("replaces only the marked section; a second update leaves the file byte-identical and untouched", () => {
    const path = readme();
    const chart = join(path, "..", "reports", "rouge-tiny.svg");
    expect(updateReadme(path, makeReport(), chart)).toBe(true);
    const first = readFileSync(path, "utf8");
    expect(first.startsWith(`${BEFORE}${START_MARKER}\n### Reproduced results`)).toBe(true);
    expect(first.endsWith(`(reports/rouge-tiny.svg)\n${END_MARKER}${AFTER}`)).toBe(true);
    expect(first).not.toContain("old results");
    const { ino, mtimeMs } = statSync(path);

    expect(updateReadme(path, makeReport(), chart)).toBe(false);
    expect(readFileSync(path, "utf8")).toBe(first);
    expect(statSync(path).ino).toBe(ino);
    expect(statSync(path).mtimeMs).toBe(mtimeMs);
  });

  it("links the chart relative to the README", () => {
    const path = readme();
    updateReadme(
      path,
      makeReport({ profile: "tinyllama" }),
      join(path, "..", "reports", "rouge-tinyllama.svg"),
    );
    expect(readFileSync(path, "utf8")).toContain("](reports/rouge-tinyllama.svg)");
  });

  it("errors, naming the file, when a marker is missing, duplicated or out of order", () => {
    const dir = mkdtempSync(join(tmpdir(), "lora-bench-readme-"));
    const path = join(dir, "README.md");
    const cases: [string, RegExp][] = [
      ["# no markers\n", /README\.md: missing marker <!-- lora-bench:results:start -->/],
      [`${START_MARKER}\n`, /README\.md: missing marker <!-- lora-bench:results:end -->/],
      [
        `${START_MARKER}${END_MARKER}${START_MARKER}`,
        /README\.md: duplicated \(2×\) marker <!-- lora-bench:results:start -->/,
      ],
      [`${END_MARKER}\n${START_MARKER}`, /README\.md: marker .* comes before/],
    ];
    for (const [text, error] of cases) {
      writeFileSync(path, text);
      expect(() => updateReadme(path, makeReport(), join(dir, "c.svg"))).toThrow(error);
      expect(readFileSync(path, "utf8")).toBe(text);
    }
    expect(() => updateReadme(join(dir, "nope.md"), makeReport(), "c.svg")).toThrow(/nope\.md: no such file/);
  });
});
