import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // They need a WebGPU adapter: `npm run test:webgpu` (vitest.webgpu.config.ts).
    exclude: ["test/webgpu/**", "**/node_modules/**"],
    // ORT sessions and fp64 gradient checks are CPU-heavy; the machine has 2 cores.
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 2,
  },
});
