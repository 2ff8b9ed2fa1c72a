import { drawHeatmap } from "../plot/heatmap.js";
import type { ModelInfo } from "../worker/protocol.js";
import { element, panel, selectOf } from "./dom.js";

export interface AttentionPanel {
  readonly root: HTMLElement;
  setModel(info: ModelInfo): void;
  update(length: number, dense: Float32Array, compressed: Float32Array): void;
  selection(): { layer: number; head: number };
  /** Clears the heatmaps and shows `message` instead. */
  clear(message: string): void;
}

/** Attention weights (query position × key position) of one layer and head: dense, compressed, difference. */
export function createAttentionPanel(onSelect: () => void): AttentionPanel {
  const layer = selectOf([["0", "layer 0"]], "0", "attention-layer");
  const head = selectOf([["0", "head 0"]], "0", "attention-head");
  layer.addEventListener("change", onSelect);
  head.addEventListener("change", onSelect);
  const canvases = [0, 1, 2].map(() => element("canvas", { width: 1, height: 1 }));
  const [denseCanvas, compressedCanvas, differenceCanvas] = canvases;
  const note = element("div", { class: "summary", "data-testid": "attention-summary" }, ["Generate text to see attention."]);
  const figures = element("div", { class: "heatmaps" }, [
    element("figure", {}, [denseCanvas, element("figcaption", {}, ["dense"])]),
    element("figure", {}, [compressedCanvas, element("figcaption", {}, ["compressed"])]),
    element("figure", {}, [differenceCanvas, element("figcaption", {}, ["compressed − dense"])]),
  ]);
  const root = panel("Attention heatmaps", "attention-panel", [note, figures], [element("span", { class: "inline-controls" }, [layer, head])]);
  return {
    root,
    setModel(info) {
      layer.replaceChildren(...Array.from({ length: info.layers }, (_, index) => element("option", { value: String(index) }, [`layer ${index}`])));
      head.replaceChildren(...Array.from({ length: info.heads }, (_, index) => element("option", { value: String(index) }, [`head ${index}`])));
    },
    update(length, dense, compressed) {
      const difference = new Float32Array(length * length);
      let largest = 0;
      let total = 0;
      let cells = 0;
      for (let index = 0; index < difference.length; index++) {
        difference[index] = compressed[index] - dense[index];
        if (!Number.isNaN(difference[index])) {
          largest = Math.max(largest, Math.abs(difference[index]));
          total += Math.abs(difference[index]);
          cells++;
        }
      }
      drawHeatmap(denseCanvas, dense, length, length, { maximum: 1 });
      drawHeatmap(compressedCanvas, compressed, length, length, { maximum: 1 });
      drawHeatmap(differenceCanvas, difference, length, length, { mode: "diverging", gamma: 1 });
      note.textContent = `${length} positions · largest |difference| ${largest.toExponential(2)} · mean ${(total / Math.max(1, cells)).toExponential(2)}`;
    },
    selection: () => ({ layer: Number(layer.value), head: Number(head.value) }),
    clear(message) {
      for (const canvas of canvases) drawHeatmap(canvas, new Float32Array(0), 0, 0);
      note.textContent = message;
    },
  };
}
