/**
 * A small dependency-free SVG writer for scatter plots with optional lines (e.g. a Pareto frontier).
 * Axes: linear, log (base 2 ticks), or "complement-log" for values just below 1 (cosines):
 * placed by −log10(1 − y), so 0.9, 0.99, 0.999 are evenly spaced.
 */

export type AxisScale = "linear" | "log2" | "complement-log";
export type MarkerShape = "circle" | "square" | "triangle" | "diamond" | "cross" | "plus";

export interface PlotPoint {
  readonly x: number;
  readonly y: number;
  /** Tooltip text (SVG <title>). */
  readonly label?: string;
  /** Hollow marker (e.g. a variant of the same family). */
  readonly hollow?: boolean;
}

export interface PlotSeries {
  readonly name: string;
  readonly color: string;
  readonly marker: MarkerShape;
  readonly points: readonly PlotPoint[];
}

export interface PlotLine {
  readonly name: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly { x: number; y: number }[];
}

export interface PlotAxis {
  readonly label: string;
  readonly scale: AxisScale;
  /** Data range to show; defaults to the data's extent. */
  readonly minimum?: number;
  readonly maximum?: number;
}

export interface ScatterPlotOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly x: PlotAxis;
  readonly y: PlotAxis;
  readonly series: readonly PlotSeries[];
  readonly lines?: readonly PlotLine[];
  readonly legendNotes?: readonly string[];
  readonly width?: number;
  readonly height?: number;
}

/** Smallest 1 − y the complement-log axis resolves (cosines closer to 1 sit on the top edge). */
const complementFloor = 1e-7;

export function escapeXml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** Maps a data value to an axis coordinate in which the axis is linear. */
export function axisTransform(scale: AxisScale, value: number): number {
  switch (scale) {
    case "linear":
      return value;
    case "log2":
      if (!(value > 0)) throw new RangeError(`log2 axis needs positive values, got ${value}`);
      return Math.log2(value);
    case "complement-log":
      return -Math.log10(Math.max(complementFloor, 1 - value));
  }
}

function niceStep(span: number, targetTicks: number): number {
  const raw = span / Math.max(1, targetTicks);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const normalized = raw / magnitude;
  return (normalized <= 1 ? 1 : normalized <= 2 ? 2 : normalized <= 5 ? 5 : 10) * magnitude;
}

function formatTick(value: number): string {
  if (value === 0) return "0";
  const rounded = Number(value.toPrecision(6));
  return String(rounded);
}

/** Tick values (data units) for an axis spanning [low, high] in transformed coordinates. */
export function axisTicks(scale: AxisScale, low: number, high: number): number[] {
  const ticks: number[] = [];
  if (scale === "log2") {
    for (let exponent = Math.ceil(low - 1e-9); exponent <= Math.floor(high + 1e-9); exponent++) ticks.push(2 ** exponent);
  } else if (scale === "complement-log") {
    // 1 − m·10^−n: every decade (0.9, 0.99, …); 0.5 and 0.8 below 0.9 always, and the 0.95/0.98-style
    // steps between decades when few decades show.
    const dense = high - low <= 4;
    for (let nines = Math.floor(low) - 1; nines <= Math.ceil(high); nines++) {
      for (const multiplier of dense || nines <= 1 ? [5, 2, 1] : [1]) {
        const complement = multiplier * 10 ** -nines;
        if (complement >= 1) continue;
        const at = -Math.log10(complement);
        if (at >= low - 1e-9 && at <= high + 1e-9) ticks.push(Number((1 - complement).toPrecision(12)));
      }
    }
  } else {
    const step = niceStep(high - low, 6);
    for (let value = Math.ceil(low / step - 1e-9) * step; value <= high + step * 1e-9; value += step) ticks.push(Number(value.toPrecision(12)));
  }
  return ticks;
}

function extent(values: number[], axis: PlotAxis): [number, number] {
  let low = axis.minimum !== undefined ? axisTransform(axis.scale, axis.minimum) : Math.min(...values);
  let high = axis.maximum !== undefined ? axisTransform(axis.scale, axis.maximum) : Math.max(...values);
  if (!Number.isFinite(low) || !Number.isFinite(high)) throw new RangeError(`plot axis "${axis.label}" has no finite data`);
  if (high - low < 1e-12) {
    low -= 0.5;
    high += 0.5;
  }
  if (axis.minimum === undefined) low -= (high - low) * 0.04;
  if (axis.maximum === undefined) high += (high - low) * 0.04;
  return [low, high];
}

function marker(shape: MarkerShape, cx: number, cy: number, color: string, hollow: boolean, size = 5): string {
  const fill = hollow ? "white" : color;
  const style = `fill="${fill}" stroke="${color}" stroke-width="1.6"`;
  const f = (value: number) => value.toFixed(1);
  switch (shape) {
    case "circle":
      return `<circle cx="${f(cx)}" cy="${f(cy)}" r="${size}" ${style}/>`;
    case "square":
      return `<rect x="${f(cx - size)}" y="${f(cy - size)}" width="${2 * size}" height="${2 * size}" ${style}/>`;
    case "triangle":
      return `<polygon points="${f(cx)},${f(cy - size * 1.2)} ${f(cx - size * 1.1)},${f(cy + size * 0.8)} ${f(cx + size * 1.1)},${f(cy + size * 0.8)}" ${style}/>`;
    case "diamond":
      return `<polygon points="${f(cx)},${f(cy - size * 1.3)} ${f(cx + size)},${f(cy)} ${f(cx)},${f(cy + size * 1.3)} ${f(cx - size)},${f(cy)}" ${style}/>`;
    case "cross":
      return `<path d="M${f(cx - size)},${f(cy - size)}L${f(cx + size)},${f(cy + size)}M${f(cx - size)},${f(cy + size)}L${f(cx + size)},${f(cy - size)}" stroke="${color}" stroke-width="2.2" fill="none"/>`;
    case "plus":
      return `<path d="M${f(cx - size)},${f(cy)}L${f(cx + size)},${f(cy)}M${f(cx)},${f(cy - size)}L${f(cx)},${f(cy + size)}" stroke="${color}" stroke-width="2.2" fill="none"/>`;
  }
}

/** Renders the plot as a standalone SVG document. */
export function renderScatterPlotSvg(options: ScatterPlotOptions): string {
  const width = options.width ?? 900;
  const height = options.height ?? 600;
  const margin = { left: 84, right: 230, top: options.subtitle ? 64 : 46, bottom: 62 };
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const allPoints = [...options.series.flatMap((series) => series.points), ...(options.lines ?? []).flatMap((line) => line.points)];
  if (allPoints.length === 0) throw new RangeError("plot has no points");
  const [xLow, xHigh] = extent(allPoints.map((point) => axisTransform(options.x.scale, point.x)), options.x);
  const [yLow, yHigh] = extent(allPoints.map((point) => axisTransform(options.y.scale, point.y)), options.y);
  const px = (value: number) => margin.left + ((axisTransform(options.x.scale, value) - xLow) / (xHigh - xLow)) * plotWidth;
  const py = (value: number) => margin.top + plotHeight - ((axisTransform(options.y.scale, value) - yLow) / (yHigh - yLow)) * plotHeight;
  // Markers outside a fixed axis range sit on its edge (their tooltip keeps the true value).
  const clampX = (value: number) => Math.min(margin.left + plotWidth, Math.max(margin.left, value));
  const clampY = (value: number) => Math.min(margin.top + plotHeight, Math.max(margin.top, value));
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`);
  parts.push(`<rect width="${width}" height="${height}" fill="white"/>`);
  parts.push(`<text x="${margin.left}" y="26" font-size="17" font-weight="bold">${escapeXml(options.title)}</text>`);
  if (options.subtitle) parts.push(`<text x="${margin.left}" y="46" font-size="12" fill="#555">${escapeXml(options.subtitle)}</text>`);
  parts.push(`<defs><clipPath id="plot-area"><rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}"/></clipPath></defs>`);

  // Grid and ticks.
  for (const tick of axisTicks(options.x.scale, xLow, xHigh)) {
    const x = px(tick).toFixed(1);
    parts.push(`<line x1="${x}" y1="${margin.top}" x2="${x}" y2="${margin.top + plotHeight}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${x}" y="${margin.top + plotHeight + 18}" font-size="12" text-anchor="middle">${escapeXml(formatTick(tick))}${options.x.scale === "log2" ? "×" : ""}</text>`);
  }
  for (const tick of axisTicks(options.y.scale, yLow, yHigh)) {
    const y = py(tick).toFixed(1);
    parts.push(`<line x1="${margin.left}" y1="${y}" x2="${margin.left + plotWidth}" y2="${y}" stroke="#e3e3e3"/>`);
    parts.push(`<text x="${margin.left - 8}" y="${(Number(y) + 4).toFixed(1)}" font-size="12" text-anchor="end">${escapeXml(formatTick(tick))}</text>`);
  }
  parts.push(`<rect x="${margin.left}" y="${margin.top}" width="${plotWidth}" height="${plotHeight}" fill="none" stroke="#333"/>`);
  parts.push(`<text x="${margin.left + plotWidth / 2}" y="${height - 18}" font-size="13" text-anchor="middle">${escapeXml(options.x.label)}</text>`);
  parts.push(`<text transform="translate(18 ${margin.top + plotHeight / 2}) rotate(-90)" font-size="13" text-anchor="middle">${escapeXml(options.y.label)}</text>`);

  parts.push(`<g clip-path="url(#plot-area)">`);
  for (const line of options.lines ?? []) {
    const path = line.points.map((point, index) => `${index === 0 ? "M" : "L"}${px(point.x).toFixed(1)},${py(point.y).toFixed(1)}`).join("");
    parts.push(`<path d="${path}" fill="none" stroke="${line.color}" stroke-width="1.8"${line.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
  }
  parts.push(`</g>`);
  for (const series of options.series) {
    for (const point of series.points) {
      const shape = marker(series.marker, clampX(px(point.x)), clampY(py(point.y)), series.color, point.hollow ?? false);
      parts.push(point.label ? `<g><title>${escapeXml(point.label)}</title>${shape}</g>` : shape);
    }
  }

  // Legend.
  const legendX = margin.left + plotWidth + 18;
  let legendY = margin.top + 10;
  for (const series of options.series) {
    parts.push(marker(series.marker, legendX + 8, legendY, series.color, false));
    parts.push(`<text x="${legendX + 22}" y="${legendY + 4}" font-size="13">${escapeXml(series.name)}</text>`);
    legendY += 22;
  }
  for (const line of options.lines ?? []) {
    parts.push(`<line x1="${legendX}" y1="${legendY}" x2="${legendX + 16}" y2="${legendY}" stroke="${line.color}" stroke-width="1.8"${line.dashed ? ` stroke-dasharray="6 4"` : ""}/>`);
    parts.push(`<text x="${legendX + 22}" y="${legendY + 4}" font-size="13">${escapeXml(line.name)}</text>`);
    legendY += 22;
  }
  for (const note of options.legendNotes ?? []) {
    legendY += 4;
    parts.push(`<text x="${legendX}" y="${legendY + 4}" font-size="11" fill="#555">${escapeXml(note)}</text>`);
    legendY += 16;
  }
  parts.push(`</svg>`);
  return `${parts.join("\n")}\n`;
}
