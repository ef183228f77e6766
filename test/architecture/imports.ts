/** The repository's import graph and the rules its layers follow (used by imports.test.ts). */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, posix, relative } from "node:path";

export type Graph = Map<string, string[]>;

const SOURCE = /\.(ts|mts|js|mjs)$/;
const SPEC = /(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm;

function walk(dir: string, out: string[]): void {
  for (const name of readdirSync(dir)) {
    if (name === "node_modules" || name.startsWith(".")) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (SOURCE.test(name)) out.push(p);
  }
}

/** Every relative import (static, dynamic, type-only) of the files under `dirs`, as repo paths. */
export function importGraph(root: string, dirs: string[]): Graph {
  const files: string[] = [];
  for (const d of dirs) walk(join(root, d), files);
  const graph: Graph = new Map();
  for (const f of files) {
    const from = relative(root, f).split("\\").join("/");
    const deps = new Set<string>();
    for (const m of readFileSync(f, "utf8").matchAll(SPEC)) {
      const spec = m[1];
      if (!spec.startsWith(".")) continue;
      deps.add(posix.normalize(posix.join(posix.dirname(from), spec)));
    }
    graph.set(from, [...deps]);
  }
  return graph;
}

/**
 * The stage of a harness module: a module may import from its own stage and the ones before it.
 * The generated report types are the schema every stage shares, so they sit with the base.
 */
export function stage(path: string): number | null {
  if (!path.startsWith("harness/")) return null;
  const rest = path.slice("harness/".length);
  if (!rest.includes("/")) return rest === "pipeline.ts" ? 4 : 0; // errors, fsutil, rng | pipeline
  if (rest === "report/types.ts") return 0;
  const top = rest.split("/")[0];
  const order: Record<string, number> = { data: 1, metrics: 1, engine: 1, study: 2, report: 3, cli: 5 };
  return order[top] ?? null;
}
export const STAGE_NAMES = ["base", "data/metrics/engine", "study", "report", "pipeline", "cli"];

export function layerViolations(graph: Graph): string[] {
  const out: string[] = [];
  for (const [from, deps] of graph) {
    const s = stage(from);
    for (const to of deps) {
      if (from.startsWith("harness/") && /^(test|benchmarks|fixtures)\//.test(to))
        out.push(`${from} imports ${to}: the runtime must not depend on tests, claims or fixtures`);
      const t = stage(to);
      if (s !== null && t !== null && t > s)
        out.push(`${from} (${STAGE_NAMES[s]}) imports ${to} (${STAGE_NAMES[t]}), a later stage`);
      else if (s === 1 && t === 1 && from.split("/")[1] !== to.split("/")[1])
        out.push(`${from} imports ${to}: data, metrics and engine stand side by side`);
    }
  }
  return out;
}

/** Each import cycle once, as the list of its modules (Tarjan's strongly connected components). */
export function cycles(graph: Graph): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string) => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

export const repoRoot = join(dirname(new URL(import.meta.url).pathname), "..", "..");
