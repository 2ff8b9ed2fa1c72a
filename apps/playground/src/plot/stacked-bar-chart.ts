import { categoricalColors } from "./color-map.js";
import { linearScale } from "./scale.js";
import { formatNumber, svgElement } from "./svg.js";

/** One part of a stacked bar: a value per category. */
export interface StackPart {
  readonly name: string;
  readonly values: readonly number[];
}

/** A bar per category made of parts stacked bottom-up (a single part: a plain bar). */
export interface BarStack {
  readonly name: string;
  readonly parts: readonly StackPart[];
}

export interface StackedBarChartOptions {
  readonly categories: readonly string[];
  readonly width?: number;
  readonly height?: number;
  readonly format?: (value: number) => string;
}

/**
 * Grouped stacked bars: one group per category (layer), one bar per stack (fp16 reference, compressed),
 * each stack's parts drawn bottom-up in a colour per part name, with a legend of the part names.
 */
export function renderStackedBarChart(stacks: readonly BarStack[], options: StackedBarChartOptions): SVGSVGElement {
  const width = options.width ?? 460;
  const height = options.height ?? 240;
  const margin = { top: 40, right: 10, bottom: 28, left: 60 };
  const format = options.format ?? formatNumber;
  const partNames = [...new Set(stacks.flatMap((stack) => stack.parts.map((part) => part.name)))];
  const color = (name: string) => categoricalColors[partNames.indexOf(name) % categoricalColors.length];
  const stackTotal = (stack: BarStack, index: number) => stack.parts.reduce((sum, part) => sum + (part.values[index] ?? 0), 0);
  const maximum = Math.max(1e-9, ...options.categories.flatMap((_, index) => stacks.map((stack) => stackTotal(stack, index))));
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", class: "plot bar-chart" });
  const y = linearScale([0, maximum * 1.05], [height - margin.bottom, margin.top]);
  for (const tick of y.ticks(4)) {
    svg.append(svgElement("line", { x1: margin.left, x2: width - margin.right, y1: y(tick), y2: y(tick), class: "grid-line" }));
    svg.append(svgElement("text", { x: margin.left - 6, y: y(tick) + 4, class: "tick-label", "text-anchor": "end" }, [format(tick)]));
  }
  const groupWidth = (width - margin.left - margin.right) / Math.max(1, options.categories.length);
  const barWidth = (groupWidth * 0.8) / Math.max(1, stacks.length);
  options.categories.forEach((category, categoryIndex) => {
    const groupStart = margin.left + categoryIndex * groupWidth + groupWidth * 0.1;
    stacks.forEach((stack, stackIndex) => {
      let base = 0;
      for (const part of stack.parts) {
        const value = part.values[categoryIndex] ?? 0;
        const top = y(base + value);
        const rect = svgElement("rect", {
          x: (groupStart + stackIndex * barWidth).toFixed(1),
          y: top.toFixed(1),
          width: Math.max(1, barWidth - 2).toFixed(1),
          height: Math.max(0, y(base) - top).toFixed(1),
          fill: color(part.name),
          class: "bar",
          "data-stack": stack.name,
          "data-series": part.name,
        });
        rect.append(svgElement("title", {}, [`${category} ${stack.name}, ${part.name}: ${format(value)}`]));
        svg.append(rect);
        base += value;
      }
    });
    svg.append(svgElement("text", { x: groupStart + groupWidth * 0.4, y: height - margin.bottom + 16, class: "tick-label", "text-anchor": "middle" }, [category]));
  });
  partNames.forEach((name, index) => {
    const lx = margin.left + (index % 3) * 130;
    const ly = 4 + Math.floor(index / 3) * 16;
    svg.append(svgElement("rect", { x: lx, y: ly, width: 10, height: 10, fill: color(name) }));
    svg.append(svgElement("text", { x: lx + 14, y: ly + 9, class: "legend-label" }, [name]));
  });
  return svg;
}
