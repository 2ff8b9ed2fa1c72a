import { defineConfig } from "vitest/config";

// Unit tests (plot math, frontier math) run in Node; the e2e file drives the built app in Chromium.
export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "e2e/**/*.e2e.test.ts"],
    environment: "node",
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
