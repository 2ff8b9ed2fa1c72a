import { element, panel } from "./dom.js";

export interface OutputPanel {
  readonly root: HTMLElement;
  start(prompt: string, compressedLabel: string): void;
  append(dense: string, compressed: string): void;
  finish(summary: string, firstDivergence: number): void;
  markStale(label: string): void;
}

/** Dense and compressed generations side by side, streamed token by token. */
export function createOutputPanel(): OutputPanel {
  const denseText = element("div", { class: "output-text", "data-testid": "output-dense" });
  const compressedText = element("div", { class: "output-text", "data-testid": "output-compressed" });
  const compressedTitle = element("span", { "data-testid": "compressed-label" }, ["compressed"]);
  const stats = element("div", { class: "stats", "data-testid": "generation-stats" }, ["Press Generate: both runs use the same prompt, seed and sampling."]);
  let denseGenerated: HTMLSpanElement = element("span");
  let compressedGenerated: HTMLSpanElement = element("span");
  const root = element("div", {}, [
    element("div", { class: "outputs" }, [
      panel("Dense KV (fp32)", "dense-panel", [denseText]),
      panel("Compressed KV", "compressed-panel", [compressedText], [compressedTitle]),
    ]),
    stats,
  ]);
  return {
    root,
    start(prompt, label) {
      denseGenerated = element("span", { "data-testid": "dense-generated" });
      compressedGenerated = element("span", { "data-testid": "compressed-generated" });
      denseText.replaceChildren(element("span", { class: "prompt" }, [prompt]), denseGenerated);
      compressedText.replaceChildren(element("span", { class: "prompt" }, [prompt]), compressedGenerated);
      compressedTitle.textContent = label;
      stats.textContent = "Generating…";
    },
    append(dense, compressed) {
      denseGenerated.append(dense);
      compressedGenerated.append(compressed);
      denseText.scrollTop = denseText.scrollHeight;
      compressedText.scrollTop = compressedText.scrollHeight;
    },
    finish(summary, firstDivergence) {
      stats.textContent = summary;
      root.dataset.state = "done";
      root.dataset.firstDivergence = String(firstDivergence);
    },
    markStale(label) {
      if (root.dataset.state === "done") stats.textContent = `${stats.textContent?.split(" · settings changed")[0]} · settings changed to ${label}: press Generate to rerun the compressed side`;
    },
  };
}
