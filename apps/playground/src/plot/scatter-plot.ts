import { categoricalColors } from "./color-map.js";
import { paretoFrontier } from "./pareto.js";
import { extent, linearScale, log2Scale, type Scale } from "./scale.js";
import { formatNumber, svgElement } from "./svg.js";

export interface ScatterPoint {
  readonly x: number;
  readonly y: number;
  readonly group: string;
  readonly label: string;
  readonly highlighted?: boolean;
}

export interface ScatterPlotOptions {
  readonly width?: number;
  readonly height?: number;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly logX?: boolean;
  /** Draws the Pareto envelope (larger x and y better) through the points. */
  readonly frontier?: boolean;
}

const legendColumns = 4;
const legendRowHeight = 14;

/** Renders a scatter plot with axes, a legend by group below it and the current point ringed. */
export function renderScatterPlot(points: readonly ScatterPoint[], options: ScatterPlotOptions): SVGSVGElement {
  const width = options.width ?? 460;
  const groups = [...new Set(points.map((point) => point.group))];
  const legendHeight = Math.ceil(groups.length / legendColumns) * legendRowHeight + 4;
  const margin = { top: 12, right: 16, bottom: 40 + legendHeight, left: 56 };
  const height = (options.height ?? 300) + legendHeight;
  const svg = svgElement("svg", { viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img", class: "plot scatter-plot" });
  const xRange: [number, number] = [margin.left, width - margin.right];
  const yRange: [number, number] = [height - margin.bottom, margin.top];
  const xs = points.map((point) => point.x);
  const ys = points.map((point) => point.y);
  let x: Scale;
  if (options.logX) {
    const [minimum, maximum] = extent(xs.filter((value) => value > 0));
    x = log2Scale([Math.max(minimum / 1.2, 1e-6), maximum * 1.2], xRange);
  } else {
    x = linearScale(extent(xs, 0.05), xRange);
  }
  const [yMinimum, yMaximum] = extent(ys, 0.08);
  const y = linearScale([yMinimum, Math.min(yMaximum, 1.0005) > yMinimum ? Math.min(yMaximum, 1.0005) : yMaximum], yRange);

  const grid = svgElement("g", { class: "grid" });
  for (const tick of x.ticks(6)) {
    const px = x(tick);
    grid.append(svgElement("line", { x1: px, x2: px, y1: yRange[0], y2: yRange[1], class: "grid-line" }));
    grid.append(svgElement("text", { x: px, y: yRange[0] + 16, class: "tick-label", "text-anchor": "middle" }, [`${formatNumber(tick)}${options.logX ? "×" : ""}`]));
  }
  for (const tick of y.ticks(5)) {
    const py = y(tick);
    grid.append(svgElement("line", { x1: xRange[0], x2: xRange[1], y1: py, y2: py, class: "grid-line" }));
    grid.append(svgElement("text", { x: xRange[0] - 6, y: py + 4, class: "tick-label", "text-anchor": "end" }, [formatNumber(tick)]));
  }
  svg.append(grid);
  svg.append(svgElement("text", { x: (xRange[0] + xRange[1]) / 2, y: yRange[0] + 34, class: "axis-label", "text-anchor": "middle" }, [options.xLabel]));
  svg.append(
    svgElement("text", { x: 14, y: (yRange[0] + yRange[1]) / 2, class: "axis-label", "text-anchor": "middle", transform: `rotate(-90 14 ${(yRange[0] + yRange[1]) / 2})` }, [options.yLabel]),
  );

  const colorOf = (group: string) => categoricalColors[groups.indexOf(group) % categoricalColors.length];

  if (options.frontier && points.length > 1) {
    const path = paretoFrontier(points)
      .map((index, order) => `${order === 0 ? "M" : "L"}${x(points[index].x).toFixed(1)},${y(points[index].y).toFixed(1)}`)
      .join("");
    svg.append(svgElement("path", { d: path, class: "frontier-line" }));
  }

  const marks = svgElement("g", { class: "points" });
  for (const point of points) {
    if (!Number.isFinite(point.x) || !Number.isFinite(point.y) || (options.logX && point.x <= 0)) continue;
    const circle = svgElement("circle", {
      cx: x(point.x).toFixed(1),
      cy: y(point.y).toFixed(1),
      r: point.highlighted ? 7 : 4.5,
      fill: colorOf(point.group),
      class: point.highlighted ? "point highlighted" : "point",
      "data-group": point.group,
    });
    circle.append(svgElement("title", {}, [`${point.label}: ${formatNumber(point.x)}× smaller than fp16, cosine ${point.y.toFixed(5)}`]));
    marks.append(circle);
  }
  svg.append(marks);

  const legend = svgElement("g", { class: "legend" });
  groups.forEach((group, index) => {
    const lx = xRange[0] + (index % legendColumns) * ((xRange[1] - xRange[0]) / legendColumns);
    const ly = height - legendHeight + 10 + Math.floor(index / legendColumns) * legendRowHeight;
    legend.append(svgElement("circle", { cx: lx, cy: ly - 4, r: 4, fill: colorOf(group) }));
    legend.append(svgElement("text", { x: lx + 8, y: ly, class: "legend-label" }, [group]));
  });
  svg.append(legend);
  return svg;
}
