import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { Plugin } from "vite";

/** The default model shipped with the playground: stories260K (llama2.c) and its 512-token tokenizer. */
export const bundledModelFiles = ["stories260K.bin", "tok512.bin"] as const;

const appRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** KVPACK_MODELS_DATA, else `<repo>/../shared/models-data` (the repo is two levels above the app). */
export function modelsDataDirectory(): string {
  return process.env.KVPACK_MODELS_DATA ?? resolve(appRoot, "../../../shared/models-data");
}

/**
 * Serves the bundled model under /models/ in dev and emits it into dist/models/ at build time, read
 * straight from the models-data folder so the binaries are never copied into the source tree.
 */
export function bundledModelsPlugin(): Plugin {
  const directory = modelsDataDirectory();
  const available = bundledModelFiles.filter((name) => existsSync(join(directory, name)));
  const missing = bundledModelFiles.filter((name) => !available.includes(name));
  return {
    name: "kvpack-bundled-models",
    buildStart() {
      if (missing.length > 0) {
        this.warn(`bundled model files not found in ${directory}: ${missing.join(", ")}; the playground will ask for a model file instead (set KVPACK_MODELS_DATA)`);
      }
    },
    configureServer(server) {
      server.middlewares.use((request, response, next) => {
        const match = /^\/models\/([\w.-]+)$/.exec(request.url ?? "");
        const name = match?.[1];
        if (!name || !available.includes(name as (typeof bundledModelFiles)[number])) return next();
        response.setHeader("Content-Type", "application/octet-stream");
        response.end(readFileSync(join(directory, name)));
      });
    },
    generateBundle() {
      for (const name of available) {
        this.emitFile({ type: "asset", fileName: `models/${name}`, source: readFileSync(join(directory, name)) });
      }
    },
  };
}
