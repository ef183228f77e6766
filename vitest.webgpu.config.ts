import { defineConfig } from "vitest/config";

// `npm run test:webgpu`: the WebGPU provider on whatever adapter the machine has (software Vulkan in
// CI). The global setup fails the run with one line when there is none; these tests never skip.
export default defineConfig({
  test: {
    include: ["test/webgpu/**/*.test.ts"],
    globalSetup: ["test/webgpu/setup.ts"],
    testTimeout: 300_000,
    hookTimeout: 300_000,
    pool: "forks",
    // One device, and software Vulkan already uses every core.
    maxWorkers: 1,
    fileParallelism: false,
  },
});
