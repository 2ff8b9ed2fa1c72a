import { diverging, viridis } from "./color-map.js";

export interface HeatmapOptions {
  /** "sequential": values in [0, maximum] with viridis; "diverging": values in [-maximum, maximum]. */
  readonly mode?: "sequential" | "diverging";
  /** Colour scale end; defaults to the largest |value|. */
  readonly maximum?: number;
  /** Gamma applied to sequential values so small attention weights stay visible. */
  readonly gamma?: number;
}

/**
 * Fills RGBA pixels for a rows × columns matrix (row-major). NaN cells (above the causal diagonal)
 * stay light grey. Separate from the canvas so it can be tested without a DOM.
 */
export function heatmapPixels(matrix: Float32Array, rows: number, columns: number, options: HeatmapOptions = {}): Uint8ClampedArray<ArrayBuffer> {
  if (matrix.length < rows * columns) throw new RangeError(`heatmapPixels: matrix has ${matrix.length} values, need ${rows}×${columns}`);
  const mode = options.mode ?? "sequential";
  const gamma = options.gamma ?? 0.5;
  let maximum = options.maximum ?? 0;
  if (!(maximum > 0)) {
    for (let index = 0; index < rows * columns; index++) {
      const magnitude = Math.abs(matrix[index]);
      if (magnitude > maximum) maximum = magnitude;
    }
  }
  if (!(maximum > 0)) maximum = 1;
  const pixels = new Uint8ClampedArray(rows * columns * 4);
  for (let index = 0; index < rows * columns; index++) {
    const value = matrix[index];
    const offset = index * 4;
    if (Number.isNaN(value)) {
      pixels[offset] = pixels[offset + 1] = pixels[offset + 2] = 236;
    } else if (mode === "sequential") {
      viridis((Math.max(0, value) / maximum) ** gamma, pixels, offset);
    } else {
      const t = value / maximum;
      diverging(Math.sign(t) * Math.abs(t) ** gamma, pixels, offset);
    }
    pixels[offset + 3] = 255;
  }
  return pixels;
}

/** Draws the matrix into a canvas, one pixel per cell; CSS scales it up with crisp edges. */
export function drawHeatmap(canvas: HTMLCanvasElement, matrix: Float32Array, rows: number, columns: number, options: HeatmapOptions = {}): void {
  canvas.width = Math.max(1, columns);
  canvas.height = Math.max(1, rows);
  const context = canvas.getContext("2d");
  if (!context) return;
  if (rows === 0 || columns === 0) {
    context.clearRect(0, 0, canvas.width, canvas.height);
    return;
  }
  const pixels = heatmapPixels(matrix, rows, columns, options);
  context.putImageData(new ImageData(pixels, columns, rows), 0, 0);
}
