import { defineConfig } from "vitest/config";

// `npm run test:browser`: the HTML reports in headless Chromium (Debian's `chromium`, or
// CHROMIUM_PATH). The global setup fails the run with one line when there is no browser.
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    globalSetup: ["test/browser/setup.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 1,
  },
});
