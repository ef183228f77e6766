import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { repoRoot } from "./imports.ts";

// `npm test` must not pass by skipping: what needs something outside the repository has its own
// project (test/sample, test/webgpu), and nothing else may skip, focus or postpone a test.
const OWN_PROJECTS = ["test/sample/", "test/webgpu/"];
const SELF = "test/architecture/no-skips.test.ts"; // its examples below would match
const SKIPPING = /\b(?:it|test|describe)\.(?:skip|skipIf|runIf|only|todo)\b|\bctx\.skip\(|\bcontext\.skip\(/;

function testFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) testFiles(p, out);
    else if (name.endsWith(".test.ts")) out.push(relative(repoRoot, p));
  }
  return out;
}

describe("npm test skips nothing", () => {
  it("no test file of the unit or e2e project skips, focuses or postpones a test", () => {
    const files = testFiles(join(repoRoot, "test")).filter(
      (f) => f !== SELF && !OWN_PROJECTS.some((d) => f.startsWith(d)),
    );
    expect(files.length).toBeGreaterThan(50);
    const offenders = files.filter((f) => SKIPPING.test(readFileSync(join(repoRoot, f), "utf8")));
    expect(offenders).toEqual([]);
  });

  it("the pattern catches what it is for", () => {
    // Joined at run time so that repository-wide greps for focused or skipped tests find no false hit here.
    for (const s of [
      ["it", 'skipIf(!x)("a", () => {})'],
      ["describe", "skip('x')"],
      ["it", "only("],
      ["test", "todo("],
      ["ctx", "skip()"],
    ].map((parts) => parts.join(".")))
      expect(SKIPPING.test(s), s).toBe(true);
    expect(SKIPPING.test("const skipped = 0; it('skips nothing', () => {})")).toBe(false);
  });
});
