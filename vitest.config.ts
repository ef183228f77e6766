import { defineConfig } from "vitest/config";

// End to end: the real `lora-bench` binary, whole studies, the workflows' shell steps.
// Also the heavy integration checks: a real model trained through the study's path, memory bounds.
const E2E = [
  "test/cli/**/*.test.ts",
  "test/engine/cli.test.ts",
  "test/engine/export.test.ts",
  "test/engine/bounded-memory.test.ts",
  "test/engine/first-run.test.ts",
  "test/engine/numerics-version.test.ts",
  "test/reliability/**/*.test.ts",
  "test/study/runner.test.ts",
  "test/study/plan.test.ts",
  "test/study/hub-run.test.ts",
  "test/study/claims-loud.test.ts",
  "test/workflows/**/*.test.ts",
];
// Never in `npm test`: test/sample needs the real CNN/DailyMail sample from outside the repository
// (`npm run test:sample`), test/webgpu a WebGPU adapter (`npm run test:webgpu`), test/browser
// Chromium (`npm run test:browser`).
const ELSEWHERE = ["test/sample/**", "test/webgpu/**", "test/browser/**", "**/node_modules/**"];

export default defineConfig({
  test: {
    // ORT sessions and fp64 gradient checks are CPU-heavy; the machine has 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: { name: "unit", include: ["test/**/*.test.ts"], exclude: [...E2E, ...ELSEWHERE] },
      },
      {
        extends: true,
        // Whole studies through the real binary: minutes on a busy 2-core machine.
        test: { name: "e2e", include: E2E, testTimeout: 300_000, hookTimeout: 300_000 },
      },
      {
        extends: true,
        test: {
          name: "sample",
          include: ["test/sample/**/*.test.ts"],
          globalSetup: ["test/sample/setup.ts"],
        },
      },
    ],
  },
});
