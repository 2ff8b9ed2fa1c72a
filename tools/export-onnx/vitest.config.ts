import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 240_000,
    // Hooks load models and compile WASM; on a loaded 2-core box that takes far more than the 10 s default.
    hookTimeout: 240_000,
    // ONNX Runtime must not write telemetry files on test machines.
    env: { ORT_DISABLE_TELEMETRY: "1" },
  },
});
