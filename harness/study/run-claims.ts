/**
 * Judge benchmarks/*.claims.ts with vitest against a study snapshot. The snapshot goes in through
 * vitest's `provide`, each claim's record comes back through its test's `task.meta`. A claims file
 * that cannot be judged (an unknown arm, metric or kind, a syntax error, a free-form claim that
 * asserts nothing) stops the run with one line naming the file and the problem.
 */
import { existsSync } from "node:fs";
import { join, relative } from "node:path";
import { UserError } from "../errors.ts";
import type { ClaimRecord } from "./claim-kinds.ts";
import type {} from "./claims.ts"; // the ProvidedContext / TaskMeta declarations
import { loadConfig } from "./config.ts";
import { declaredArmIds } from "./runner.ts";
import type { StudyData } from "./verdict.ts";

const firstLine = (s: string) => s.split("\n")[0];

export async function runClaims(
  study: StudyData,
  o: { filter?: string; root?: string; verbose?: boolean } = {},
): Promise<ClaimRecord[]> {
  const root = o.root ?? process.cwd();
  // The claims beside a bench.config.ts are typed against its arms: those ids are known even when
  // another config (a smaller study) is running, where they are judged inconclusive, not errors.
  const repoConfig = join(root, "bench.config.ts");
  if (existsSync(repoConfig)) {
    const ids = declaredArmIds((await loadConfig(repoConfig)).config);
    study = { ...study, declaredArms: [...new Set([...study.declaredArms, ...ids])] };
  }
  const { createVitest } = await import("vitest/node");
  const vitest = await createVitest("test", {
    root,
    config: join(root, "vitest.claims.config.ts"),
    watch: false,
    run: true,
    testNamePattern: o.filter,
    // A reporter that reports nothing keeps the terminal to the harness's own table.
    reporters: o.verbose ? ["default"] : [{}],
    provide: { study },
  });
  try {
    const { testModules } = await vitest.start();
    const records: { rec: ClaimRecord; order: number }[] = [];
    let order = 0;
    for (const mod of testModules) {
      const file = relative(root, mod.moduleId);
      const broken = mod.errors()[0];
      if (broken) throw new UserError(`cannot load its claims: ${firstLine(broken.message)}`, file);
      for (const t of mod.children.allTests()) {
        const meta = t.meta();
        if (meta.claimError) throw new UserError(`claim "${t.name}": ${meta.claimError}`, file);
        if (meta.claim) records.push({ rec: meta.claim, order: order++ });
        else if (t.result().state === "failed")
          throw new UserError(
            `"${t.name}" failed outside any claim: ${firstLine(t.result().errors?.[0]?.message ?? "")}`,
            file,
          );
      }
    }
    // The study's own table first (comparisons), then value checks, then probes; file order within.
    const rank = { compare: 0, value: 1, probe: 2 } as const;
    return records
      .sort(
        (a, b) =>
          rank[a.rec.kind] - rank[b.rec.kind] || a.rec.spec.localeCompare(b.rec.spec) || a.order - b.order,
      )
      .map((r) => r.rec);
  } finally {
    await vitest.close();
  }
}
