import { copyFile, mkdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { defineConfig } from "tsup";

const appDirectory = path.dirname(fileURLToPath(import.meta.url));
/** The embedded default model: copied next to dist/main.js so the server starts with no configuration. */
const defaultModelFiles = ["stories260K.bin", "tok512.bin"];

async function copyDefaultModel(): Promise<void> {
  const source = process.env.KVPACK_MODELS_DATA ?? path.resolve(appDirectory, "../../../shared/models-data");
  const target = path.join(appDirectory, "dist", "models");
  await mkdir(target, { recursive: true });
  for (const file of defaultModelFiles) {
    const from = path.join(source, file);
    if (!existsSync(from)) {
      console.warn(`[@kvpack/server] default model file ${from} not found; pass --model at start-up`);
      continue;
    }
    await copyFile(from, path.join(target, file));
  }
}

export default defineConfig({
  entry: ["src/main.ts", "src/index.ts"],
  format: ["esm"],
  dts: { entry: "src/index.ts" },
  sourcemap: true,
  clean: true,
  target: "es2022",
  platform: "node",
  onSuccess: copyDefaultModel,
});
