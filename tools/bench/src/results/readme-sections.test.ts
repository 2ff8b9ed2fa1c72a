import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { benchResultsDirectory } from "../bench-output.js";
import { readSection, writeSection } from "./readme-sections.js";
import { renderReadme, staleSections } from "./render-readme.js";
import { tableRenderers } from "./result-tables.js";

const readmePath = resolve(dirname(fileURLToPath(import.meta.url)), "../../../../README.md");

describe("README result sections", () => {
  it("writeSection replaces only the text between the markers", () => {
    const readme = "before\n<!-- results:x:start -->\nold\n<!-- results:x:end -->\nafter\n";
    const written = writeSection(readme, "x", "new | table");
    expect(written).toBe("before\n<!-- results:x:start -->\nnew | table\n<!-- results:x:end -->\nafter\n");
    expect(readSection(written, "x")).toBe("\nnew | table\n");
    expect(() => writeSection(readme, "missing", "")).toThrow(/results:missing:start/);
  });

  it("results:check — README.md's tables equal a rendering of the committed bench-results JSON", () => {
    const readme = readFileSync(readmePath, "utf8");
    // If this fails: run `pnpm results:render` after changing bench-results/*.json (or the renderers).
    expect(staleSections(readme, benchResultsDirectory())).toEqual([]);
  });

  it("a changed table is reported by name", () => {
    const readme = renderReadme(readFileSync(readmePath, "utf8"), benchResultsDirectory());
    const edited = writeSection(readme, "kernels", "hand-edited");
    expect(staleSections(edited, benchResultsDirectory())).toEqual(["kernels"]);
    expect(tableRenderers.map((renderer) => renderer.name)).toEqual(["codecs", "kernels", "runtime", "server", "perplexity", "perplexity-babyllama-5bit", "frontier", "policies", "vs-llama-cpp"]);
  });
});
