import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    testTimeout: 120_000,
    // Hooks load models and compile WASM; on a loaded 2-core box that takes far more than the 10 s default.
    hookTimeout: 120_000,
  },
});
