import { renderStackedBarChart } from "../plot/stacked-bar-chart.js";
import type { ByteBreakdown, MemoryReport } from "../worker/protocol.js";
import { element, formatBytes, panel } from "./dom.js";

export interface MemoryPanel {
  readonly root: HTMLElement;
  update(report: MemoryReport): void;
  clear(): void;
}

/** The parts of the compressed bytes, in the order they are listed and stacked. */
const parts: readonly { key: keyof ByteBreakdown; name: string; testId: string; hint: string }[] = [
  { key: "codes", name: "codes", testId: "memory-codes", hint: "the quantized coordinates" },
  { key: "normsAndScales", name: "norms / scales", testId: "memory-norms", hint: "per-row norms, scales, zero points, block means" },
  { key: "pageMetadata", name: "page metadata", testId: "memory-metadata", hint: "block headers, key digests, positions, live masks" },
  { key: "residualWindow", name: "residual window", testId: "memory-residual", hint: "fp32 rows not yet in a page" },
];

/** Dense vs compressed KV bytes: totals, ratio versus fp16, where the compressed bytes go, per layer. */
export function createMemoryPanel(): MemoryPanel {
  const summary = element("div", { class: "summary", "data-testid": "memory-summary" }, ["Generate text to fill the cache."]);
  const breakdown = element("ul", { class: "byte-breakdown", "data-testid": "memory-breakdown" });
  const chart = element("div", { "data-testid": "memory-chart" });
  const root = panel("KV memory", "memory-panel", [summary, breakdown, chart]);
  return {
    root,
    clear() {
      summary.textContent = "Generate text to fill the cache.";
      breakdown.replaceChildren();
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
      );
      const share = (bytes: number) => (report.compressedBytes > 0 ? `${((100 * bytes) / report.compressedBytes).toFixed(0)} %` : "–");
      breakdown.replaceChildren(
        element("li", {}, [element("small", { class: "field-hint" }, ["Where the compressed bytes go:"])]),
        ...parts.map((part) =>
          element("li", {}, [
            `${part.name} `,
            element("strong", { "data-testid": part.testId, "data-bytes": String(report.breakdown[part.key]) }, [formatBytes(report.breakdown[part.key])]),
            ` (${share(report.breakdown[part.key])}) `,
            element("small", { class: "field-hint" }, [part.hint]),
          ]),
        ),
      );
      chart.replaceChildren(
        renderStackedBarChart(
          [
            { name: "fp16 reference", parts: [{ name: "fp16 reference", values: report.layers.map((layer) => layer.fp16) }] },
            { name: "compressed", parts: parts.map((part) => ({ name: part.name, values: report.layers.map((layer) => layer[part.key]) })) },
          ],
          { categories: report.layers.map((_, index) => `layer ${index}`), format: formatBytes },
        ),
      );
    },
  };
}
