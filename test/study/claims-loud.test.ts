import { mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cli, ROOT } from "../cli-helpers.ts";
import { makeSmallStudy, type SmallStudy } from "./small-study.ts";

// A claims tree of its own beside a small study: `lora-bench run` judges whatever benchmarks/ its
// working directory holds.
let s: SmallStudy;
let root: string;
const api = JSON.stringify(join(ROOT, "harness/study/claims.ts"));

function claimsFile(name: string, body: string): void {
  writeFileSync(
    join(root, "benchmarks", name),
    `import { expect } from "vitest";\nimport { claim } from ${api};\n${body}\n`,
  );
}
function run() {
  return cli(["run", "--config", s.config], { cwd: root });
}

beforeAll(() => {
  s = makeSmallStudy();
  root = join(s.dir, "claims-root");
  mkdirSync(join(root, "benchmarks"), { recursive: true });
  symlinkSync(join(ROOT, "node_modules"), join(root, "node_modules"));
  writeFileSync(join(root, "package.json"), '{ "type": "module" }\n');
  writeFileSync(
    join(root, "vitest.claims.config.ts"),
    `import { defineConfig } from "vitest/config";\nexport default defineConfig({ test: { include: ["benchmarks/**/*.claims.ts"], pool: "forks", maxWorkers: 1 } });\n`,
  );
  claimsFile(
    "ok.claims.ts",
    `claim("r=8 beats base", { kind: "comparison", better: "lora-r8", than: "base", metric: "rouge2" });`,
  );
  const first = run();
  expect(first.code, first.stderr).toBe(0);
});

describe("claims that cannot be judged stop the run with one line", () => {
  it("a mistyped arm names the arm and the file", () => {
    claimsFile(
      "typo.claims.ts",
      `claim("r=16 beats base", { kind: "comparison", better: "lora-r16", than: "base", metric: "rouge2" });`,
    );
    const r = run();
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(
      /benchmarks\/typo\.claims\.ts: cannot load its claims: no arm "lora-r16" in the config/,
    );
  });

  it("an unknown metric names the metric", () => {
    claimsFile(
      "typo.claims.ts",
      `claim("x", { kind: "comparison", better: "lora-r8", than: "base", metric: "rouge3" as never });`,
    );
    const r = run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/typo\.claims\.ts: cannot load its claims: unknown metric "rouge3"/);
  });

  it("a free-form claim that returns nothing and expects nothing is an error, not a pass", () => {
    claimsFile(
      "typo.claims.ts",
      `claim("vacuous", () => undefined);\nclaim("asserts", (st) => { expect(st.arms.length).toBe(3); });`,
    );
    const r = run();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /typo\.claims\.ts: claim "vacuous": claim "vacuous" returned no outcome and made no expectation/,
    );
  });

  it("a free-form claim judged with expect holds or fails by its expectations", () => {
    claimsFile(
      "typo.claims.ts",
      `claim("three arms", (st) => { expect(st.arms.length).toBe(3); });\nclaim("four arms", (st) => { expect(st.arms.length).toBe(4); });`,
    );
    const r = cli(["run", "--config", s.config, "--json"], { cwd: root });
    expect(r.code, r.stderr).toBe(0);
    const claims = JSON.parse(r.stdout).claims as { name: string; verdict: string }[];
    expect(claims.map((c) => [c.name, c.verdict])).toEqual([
      ["r=8 beats base", expect.any(String)],
      ["three arms", "holds"],
      ["four arms", "fails"],
    ]);
  });
});
