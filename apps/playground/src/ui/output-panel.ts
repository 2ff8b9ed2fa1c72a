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
  // After the first step where the two sides add different text, the compressed text is marked.
  let compressedTarget: HTMLElement = compressedGenerated;
  let diverged = false;
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
      compressedTarget = compressedGenerated;
      diverged = false;
      stats.textContent = prompt ? "Generating…" : "Press Generate: both runs use the same prompt, seed and sampling.";
    },
    append(dense, compressed) {
      if (!diverged && dense !== compressed) {
        diverged = true;
        compressedTarget = element("span", { class: "diverged", title: "from here on the compressed run differs from the dense one" });
        compressedGenerated.append(compressedTarget);
      }
      denseGenerated.append(dense);
      compressedTarget.append(compressed);
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
