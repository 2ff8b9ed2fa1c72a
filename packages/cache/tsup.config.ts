import { defineConfig } from "tsup";

export default defineConfig({
  // index: browser-safe; node: disk tier (node:fs); redis: Redis tier (ioredis).
  entry: ["src/index.ts", "src/node.ts", "src/redis.ts"],
  format: ["esm"],
  dts: true,
  sourcemap: true,
  clean: true,
  target: "es2022",
});
