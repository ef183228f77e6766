import { defineConfig } from "vitest/config";

// The study's claims (benchmarks/*.claims.ts). `lora-bench run` runs them against a study snapshot;
// run directly (npx vitest run --config vitest.claims.config.ts) they run the study first, from cache.
export default defineConfig({
  test: {
    include: ["benchmarks/**/*.claims.ts"],
    testTimeout: 6 * 60 * 60 * 1000,
    pool: "forks",
    // Claims only read a snapshot; one worker keeps a cold standalone run from training twice.
    maxWorkers: 1,
    fileParallelism: false,
  },
});
