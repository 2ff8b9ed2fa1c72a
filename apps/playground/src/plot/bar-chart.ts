import { categoricalColors } from "./color-map.js";
import { linearScale } from "./scale.js";
import { formatNumber, svgElement } from "./svg.js";

export interface BarSeries {
  readonly name: string;
  readonly values: readonly number[];
}

export interface BarChartOptions {
  readonly categories: readonly string[];
  readonly width?: number;
  readonly height?: number;
  readonly format?: (value: number) => string;
}

/** Grouped vertical bars: one group per category (layer), one bar per series (dense, compressed). */
export function renderBarChart(series: readonly BarSeries[], options: BarChartOptions): SVGSVGElement {
  const width = options.width ?? 460;
  const height = options.height ?? 220;
  const margin = { top: 22, right: 10, bottom: 28, left: 60 };
  const format = options.format ?? formatNumber;
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", class: "plot bar-chart" });
  const maximum = Math.max(1e-9, ...series.flatMap((entry) => entry.values));
  const y = linearScale([0, maximum * 1.05], [height - margin.bottom, margin.top]);
  for (const tick of y.ticks(4)) {
    svg.append(svgElement("line", { x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick), class: "grid-line" }));
    svg.append(svgElement("text", { x: margin.left - 6, y: y(tick) + 4, class: "tick-label", "text-anchor": "end" }, [format(tick)]));
  }
  const groupWidth = (width - margin.left - margin.right) / Math.max(1, options.categories.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, series.length);
  options.categories.forEach((category, categoryIndex) => {
    const groupStart = margin.left + categoryIndex * groupWidth + groupWidth * 0.1;
    series.forEach((entry, seriesIndex) => {
      const value = entry.values[categoryIndex] ?? 0;
      const top = y(value);
      const rect = svgElement("rect", {
        x: (groupStart + seriesIndex * barWidth).toFixed(1),
        y: top.toFixed(1),
        width: Math.max(1, barWidth - 2).toFixed(1),
        height: Math.max(0, y(0) - top).toFixed(1),
        fill: categoricalColors[seriesIndex % categoricalColors.length],
        class: "bar",
        "data-series": entry.name,
      });
      rect.append(svgElement("title", {}, [`${category} ${entry.name}: ${format(value)}`]));
      svg.append(rect);
    });
    svg.append(svgElement("text", { x: groupStart + groupWidth * 0.4, y: height - margin.bottom + 16, class: "tick-label", "text-anchor": "middle" }, [category]));
  });
  series.forEach((entry, index) => {
    const lx = margin.left + index * 150;
    svg.append(svgElement("rect", { x: lx, y: 4, width: 10, height: 10, fill: categoricalColors[index % categoricalColors.length] }));
    svg.append(svgElement("text", { x: lx + 14, y: 13, class: "legend-label" }, [entry.name]));
  });
  return svg;
}
