import { categoricalColors } from "./color-map.js";
import { radialShells, rotatePoints, rotationMatrix } from "./projection.js";

export interface CodebookViewData {
  /** size × blockSize, row-major. */
  readonly codewords: Float32Array;
  readonly size: number;
  readonly blockSize: number;
}

// Relative gap between sorted norms that starts a new shell (Lloyd leaves shells slightly spread).
const shellTolerance = 0.05;

function largestNorm(data: CodebookViewData): number {
  let maximum = 0;
  for (let index = 0; index < data.size; index++) {
    let sum = 0;
    for (let axis = 0; axis < data.blockSize; axis++) sum += data.codewords[index * data.blockSize + axis] ** 2;
    maximum = Math.max(maximum, Math.sqrt(sum));
  }
  return maximum || 1;
}

/** 2-D codebook: every codeword as a dot, with its radial shells drawn as circles. */
export function drawCodebook2d(canvas: HTMLCanvasElement, data: CodebookViewData): void {
  const context = canvas.getContext("2d");
  if (!context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const radius = largestNorm(data);
  const scale = (Math.min(width, height) / 2 - 12) / radius;
  const cx = width / 2;
  const cy = height / 2;
  context.strokeStyle = "#ccd";
  context.beginPath();
  context.moveTo(0, cy);
  context.lineTo(width, cy);
  context.moveTo(cx, 0);
  context.lineTo(cx, height);
  context.stroke();
  const shells = radialShells(data.codewords, data.size, 2, shellTolerance);
  // Many distinct norms means there are no shells worth drawing (e.g. a lattice).
  if (shells.length <= 24) {
    context.strokeStyle = "rgba(78, 121, 167, 0.35)";
    for (const shell of shells) {
      context.beginPath();
      context.arc(cx, cy, shell * scale, 0, Math.PI * 2);
      context.stroke();
    }
  }
  context.fillStyle = categoricalColors[1];
  const dot = data.size > 512 ? 1.5 : 3;
  for (let index = 0; index < data.size; index++) {
    const x = cx + data.codewords[index * 2] * scale;
    const y = cy - data.codewords[index * 2 + 1] * scale;
    context.beginPath();
    context.arc(x, y, dot, 0, Math.PI * 2);
    context.fill();
  }
}

/**
 * 3-D codebook: each codeword's direction on the unit sphere, orthographically projected after a
 * yaw/pitch rotation; nearer points are drawn later and brighter, coloured by radial shell.
 */
export function drawCodebook3d(canvas: HTMLCanvasElement, data: CodebookViewData, yaw: number, pitch: number): void {
  const context = canvas.getContext("2d");
  if (!context) return;
  const { width, height } = canvas;
  context.clearRect(0, 0, width, height);
  const count = data.size;
  const directions = new Float64Array(count * 3);
  const norms = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    const x = data.codewords[index * 3];
    const y = data.codewords[index * 3 + 1];
    const z = data.codewords[index * 3 + 2];
    const norm = Math.hypot(x, y, z) || 1;
    norms[index] = norm;
    directions[index * 3] = x / norm;
    directions[index * 3 + 1] = y / norm;
    directions[index * 3 + 2] = z / norm;
  }
  const shells = radialShells(data.codewords, count, 3, shellTolerance);
  const projected = rotatePoints(directions, count, rotationMatrix(yaw, pitch));
  const scale = Math.min(width, height) / 2 - 12;
  const cx = width / 2;
  const cy = height / 2;
  context.strokeStyle = "#ccd";
  context.beginPath();
  context.arc(cx, cy, scale, 0, Math.PI * 2);
  context.stroke();
  const order = Array.from({ length: count }, (_, index) => index).sort((a, b) => projected[a * 3 + 2] - projected[b * 3 + 2]);
  for (const index of order) {
    const depth = projected[index * 3 + 2];
    const shellIndex = nearestShell(shells, norms[index]);
    context.globalAlpha = 0.35 + 0.65 * ((depth + 1) / 2);
    context.fillStyle = categoricalColors[Math.max(0, shellIndex) % categoricalColors.length];
    context.beginPath();
    context.arc(cx + projected[index * 3] * scale, cy - projected[index * 3 + 1] * scale, count > 512 ? 1.5 : 2 + depth, 0, Math.PI * 2);
    context.fill();
  }
  context.globalAlpha = 1;
}

function nearestShell(shells: readonly number[], norm: number): number {
  let best = 0;
  for (let index = 1; index < shells.length; index++) if (Math.abs(shells[index] - norm) < Math.abs(shells[best] - norm)) best = index;
  return best;
}
