import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { readSection, writeSection } from "./readme-sections.js";
import { tableRenderers, type ResultJson } from "./result-tables.js";

/** The README with every results section rendered from `resultsDirectory`. */
export function renderReadme(readme: string, resultsDirectory: string): string {
  let text = readme;
  for (const renderer of tableRenderers) {
    const json = JSON.parse(readFileSync(resolve(resultsDirectory, renderer.file), "utf8")) as ResultJson;
    text = writeSection(text, renderer.name, renderer.render(json));
  }
  return text;
}

/** Names of the sections whose README text differs from a fresh rendering (missing sections included). */
export function staleSections(readme: string, resultsDirectory: string): string[] {
  const rendered = renderReadme(readme, resultsDirectory);
  return tableRenderers.filter((renderer) => readSection(readme, renderer.name) !== readSection(rendered, renderer.name)).map((renderer) => renderer.name);
}
