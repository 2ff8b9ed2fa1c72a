import { defineConfig } from "vite";
import { bundledModelsPlugin } from "./scripts/bundled-models.js";

export default defineConfig({
  plugins: [bundledModelsPlugin()],
  worker: { format: "es" },
  build: { target: "es2022", chunkSizeWarningLimit: 2048 },
});
