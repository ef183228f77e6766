import { defineConfig } from "vitest/config";

// The study's claims (benchmarks/*.claims.ts). `lora-bench run` runs them against a study snapshot it
// provides; run directly (npx vitest run --config vitest.claims.config.ts) the globalSetup runs the
// study first, from cache.
export default defineConfig({
  test: {
    include: ["benchmarks/**/*.claims.ts"],
    globalSetup: ["harness/study/claims-setup.ts"],
    testTimeout: 6 * 60 * 60 * 1000,
    hookTimeout: 6 * 60 * 60 * 1000,
    pool: "forks",
    // Claims only read the snapshot; one worker is plenty.
    maxWorkers: 1,
    fileParallelism: false,
  },
});
