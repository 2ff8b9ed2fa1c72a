import { renderScatterPlot } from "../plot/scatter-plot.js";
import type { FrontierEntry } from "../worker/protocol.js";
import { element, panel } from "./dom.js";

export interface FrontierPanel {
  readonly root: HTMLElement;
  update(entries: readonly FrontierEntry[], tokens: number, skipped: readonly string[]): void;
  setBusy(busy: boolean): void;
  unavailable(reason: string): void;
  clear(): void;
}

/** Compression ratio vs attention-output cosine on the running model's captured KV. */
export function createFrontierPanel(onRun: () => void): FrontierPanel {
  const button = element("button", { class: "button secondary", "data-testid": "frontier-run", disabled: true, onclick: onRun }, ["Recompute"]);
  const note = element("div", { class: "summary", "data-testid": "frontier-summary" }, ["Runs after each generation on the captured keys, values and queries."]);
  const plot = element("div", { "data-testid": "frontier-plot" });
  const root = panel("Memory–fidelity frontier", "frontier-panel", [note, plot], [button]);
  return {
    root,
    update(entries, tokens, skipped) {
      const current = entries.find((entry) => entry.current);
      note.textContent = current
        ? `${tokens} tokens · current ${current.label}: ${current.ratio.toFixed(2)}× vs fp16, attention cosine ${current.cosine.toFixed(5)}`
        : `${tokens} tokens`;
      if (skipped.length > 0) {
        note.append(element("br"), element("small", { class: "field-hint", title: skipped.join("\n") }, [`${skipped.length} codec settings could not be measured in this build (hover for why).`]));
      }
      plot.replaceChildren(
        renderScatterPlot(
          entries.map((entry) => ({ x: entry.ratio, y: entry.cosine, group: entry.group, label: entry.label, highlighted: entry.current })),
          { xLabel: "compression ratio vs fp16, codec blocks (log scale)", yLabel: "attention output cosine", logX: true, frontier: true },
        ),
      );
    },
    clear() {
      note.textContent = "Runs after each generation on the captured keys, values and queries.";
      plot.replaceChildren();
    },
    unavailable(reason) {
      note.textContent = reason;
      plot.replaceChildren();
    },
    setBusy(busy) {
      button.disabled = busy;
    },
  };
}
