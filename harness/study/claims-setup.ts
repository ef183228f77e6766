/**
 * globalSetup of vitest.claims.config.ts. `lora-bench run` provides the study itself; when vitest runs
 * the claims directly, the study is run here first (every cached unit is reused) and provided.
 * LORA_BENCH_PROFILE picks the profile for such a direct run.
 */
import type { TestProject } from "vitest/node";
import type {} from "./claims.ts"; // the ProvidedContext declaration

export default async function setup(project: TestProject): Promise<void> {
  if (project.getProvidedContext().study) return;
  const { runArms } = await import("./runner.ts");
  const run = await runArms({ profile: process.env.LORA_BENCH_PROFILE });
  project.provide("study", run.study);
}
