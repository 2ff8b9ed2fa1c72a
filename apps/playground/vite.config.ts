import { defineConfig } from "vite";
import { bundledModelsPlugin } from "./scripts/bundled-models.js";

/**
 * Cross-origin isolation (COOP + COEP), so the page gets SharedArrayBuffer and shared
 * WebAssembly.Memory for multi-threaded kernels; without them kernels fall back to one thread.
 * Everything the playground loads is same-origin, so require-corp blocks nothing it needs.
 */
export const crossOriginIsolationHeaders = {
  "Cross-Origin-Opener-Policy": "same-origin",
  "Cross-Origin-Embedder-Policy": "require-corp",
};

export default defineConfig({
  plugins: [bundledModelsPlugin()],
  worker: { format: "es" },
  server: { headers: crossOriginIsolationHeaders },
  preview: { headers: crossOriginIsolationHeaders },
  build: { target: "es2022", chunkSizeWarningLimit: 2048 },
});
