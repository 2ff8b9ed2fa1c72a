/**
 * `pnpm results:render`: rewrites the README's result tables from bench-results/*.json.
 * `pnpm results:check`: exits 1, naming each table, when README.md differs from that rendering.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { benchResultsDirectory } from "../bench-output.js";
import { renderReadme, staleSections } from "./render-readme.js";

const readmePath = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../README.md");
const readme = readFileSync(readmePath, "utf8");
if (process.argv.includes("--check")) {
  const stale = staleSections(readme, benchResultsDirectory());
  if (stale.length > 0) {
    process.stderr.write(`README.md differs from bench-results/*.json in: ${stale.map((name) => `results:${name}`).join(", ")} (run pnpm results:render)\n`);
    process.exit(1);
  }
  process.stdout.write("README.md result tables match bench-results/*.json\n");
} else {
  writeFileSync(readmePath, renderReadme(readme, benchResultsDirectory()));
  process.stdout.write(`rendered the result tables of ${readmePath}\n`);
}
