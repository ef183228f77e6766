import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cycles, type Graph, importGraph, layerViolations, repoRoot } from "./imports.ts";

const graph = importGraph(repoRoot, ["harness", "benchmarks", "test", "fixtures", "bin"]);

describe("the import graph follows the pipeline (docs/ARCHITECTURE.md)", () => {
  it("sees the whole tree, and every relative import resolves to a file", () => {
    expect(graph.size).toBeGreaterThan(100);
    const missing = [...graph].flatMap(([from, deps]) =>
      deps.filter((d) => !existsSync(join(repoRoot, d))).map((d) => `${from} → ${d}`),
    );
    expect(missing).toEqual([]);
  });

  it("no stage imports a later one, and the runtime imports no tests, claims or fixtures", () => {
    expect(layerViolations(graph)).toEqual([]);
  });

  it("has no import cycle", () => {
    expect(cycles(graph)).toEqual([]);
  });

  it("the checks catch what they are for", () => {
    const bad: Graph = new Map([
      ["harness/engine/a.ts", ["harness/study/b.ts"]],
      ["harness/study/b.ts", ["harness/engine/a.ts", "test/x.ts"]],
      ["harness/metrics/c.ts", ["harness/cli/d.ts", "harness/engine/a.ts"]],
      ["harness/report/e.ts", ["harness/report/types.ts", "harness/study/b.ts"]],
      ["test/x.ts", []],
    ]);
    expect(layerViolations(bad)).toEqual([
      "harness/engine/a.ts (data/metrics/engine) imports harness/study/b.ts (study), a later stage",
      "harness/study/b.ts imports test/x.ts: the runtime must not depend on tests, claims or fixtures",
      "harness/metrics/c.ts (data/metrics/engine) imports harness/cli/d.ts (cli), a later stage",
      "harness/metrics/c.ts imports harness/engine/a.ts: data, metrics and engine stand side by side",
    ]);
    expect(cycles(bad)).toEqual([["harness/engine/a.ts", "harness/study/b.ts"]]);
  });
});
