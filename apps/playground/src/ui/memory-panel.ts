import { renderBarChart } from "../plot/bar-chart.js";
import type { MemoryReport } from "../worker/protocol.js";
import { element, formatBytes, panel } from "./dom.js";

export interface MemoryPanel {
  readonly root: HTMLElement;
  update(report: MemoryReport): void;
  clear(): void;
}

/** Dense vs compressed KV bytes: totals, ratio versus fp16, and a per-layer bar chart. */
export function createMemoryPanel(): MemoryPanel {
  const summary = element("div", { class: "summary", "data-testid": "memory-summary" }, ["Generate text to fill the cache."]);
  const chart = element("div", { "data-testid": "memory-chart" });
  const root = panel("KV memory", "memory-panel", [summary, chart]);
  return {
    root,
    clear() {
      summary.textContent = "Generate text to fill the cache.";
      chart.replaceChildren();
    },
    update(report) {
      summary.replaceChildren(
        `${report.tokens} tokens · dense fp32 `,
        element("strong", { "data-testid": "memory-dense" }, [formatBytes(report.denseBytes)]),
        " · fp16 reference ",
        element("strong", {}, [formatBytes(report.fp16Bytes)]),
        ` · compressed (${report.label}) `,
        element("strong", { "data-testid": "memory-compressed" }, [formatBytes(report.compressedBytes)]),
        " · ",
        element("strong", { "data-testid": "memory-ratio" }, [`${report.ratioVsFp16.toFixed(2)}×`]),
        " smaller than fp16",
        element("br"),
        element("small", { class: "field-hint" }, [
          `compressed = ${formatBytes(report.blockBytes)} of codec blocks + ${formatBytes(report.overheadBytes)} of page metadata and rows not yet paged`,
        ]),
      );
      chart.replaceChildren(
        renderBarChart(
          [
            { name: "dense fp32", values: report.layers.map((layer) => layer.dense) },
            { name: "compressed", values: report.layers.map((layer) => layer.compressed) },
          ],
          { categories: report.layers.map((_, index) => `layer ${index}`), format: formatBytes },
        ),
      );
    },
  };
}
