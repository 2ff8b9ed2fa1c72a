// The 12-byte scale/min field shared by block_q4_K and block_q5_K: eight 6-bit scales and eight 6-bit
// mins (ggml get_scale_min_k4), and the reference search that picks them for 8 sub-blocks of 32.
import { writeHalf } from "./ggml-block-codec.js";
import { makeQkx2Quants, nearestInt } from "./ggml-quant-math.js";

const f = Math.fround;

/** Sub-block j's 6-bit scale (the return value) and 6-bit min (stored in `min[0]`). */
export function scaleMinK4(bytes: Uint8Array, at: number, j: number, min: Uint8Array): number {
  if (j < 4) {
    min[0] = bytes[at + j + 4] & 63;
    return bytes[at + j] & 63;
  }
  min[0] = (bytes[at + j + 4] >> 4) | ((bytes[at + j] >> 6) << 4);
  return (bytes[at + j + 4] & 0xf) | ((bytes[at + j - 4] >> 6) << 4);
}

function packScaleMin(out: Uint8Array, at: number, j: number, scale: number, min: number): void {
  if (j < 4) {
    out[at + j] = scale;
    out[at + j + 4] = min;
  } else {
    out[at + j + 4] = (scale & 0xf) | ((min & 0xf) << 4);
    out[at + j - 4] |= (scale >> 4) << 6;
    out[at + j] |= (min >> 4) << 6;
  }
}

/**
 * quantize_row_q4_K_ref / q5_K_ref up to the codes: per sub-block of 32, weights av|x| + |x| and
 * make_qkx2_quants(nmax, rmin, rdelta, nstep); 6-bit scales/mins of d = max scale/63 and dmin = max
 * min/63 (written at `y`, `y + 2`, scales at `y + 4`); then every value re-rounded to
 * (x + dmin·m)/(d·sc), clamped to [0, nmax], into `codes`.
 */
export function quantizeScaleMinBlock(
  values: Float32Array,
  x: number,
  out: Uint8Array,
  y: number,
  codes: Uint8Array,
  nmax: number,
  rmin: number,
  nstep: number,
  scratch: { weights: Float32Array; work: Uint8Array; scales: Float32Array; mins: Float32Array; minOut: Float32Array; min: Uint8Array },
): void {
  const { weights, work, scales, mins, minOut } = scratch;
  let maxScale = 0;
  let maxMin = 0;
  for (let j = 0; j < 8; j++) {
    let sumX2 = 0;
    for (let l = 0; l < 32; l++) sumX2 = f(sumX2 + f(values[x + 32 * j + l] * values[x + 32 * j + l]));
    const average = f(Math.sqrt(f(sumX2 / 32)));
    for (let l = 0; l < 32; l++) weights[l] = f(average + Math.abs(values[x + 32 * j + l]));
    scales[j] = makeQkx2Quants(32, nmax, values, x + 32 * j, weights, codes, 32 * j, minOut, work, rmin, 0.1, nstep, false);
    mins[j] = minOut[0];
    if (scales[j] > maxScale) maxScale = scales[j];
    if (mins[j] > maxMin) maxMin = mins[j];
  }
  const inverseScale = maxScale > 0 ? f(63 / maxScale) : 0;
  const inverseMin = maxMin > 0 ? f(63 / maxMin) : 0;
  for (let j = 0; j < 8; j++) {
    const ls = Math.min(63, nearestInt(f(inverseScale * scales[j])) & 0xff);
    const lm = Math.min(63, nearestInt(f(inverseMin * mins[j])) & 0xff);
    packScaleMin(out, y + 4, j, ls, lm);
  }
  const d = writeHalf(out, y, f(maxScale / 63));
  const dmin = writeHalf(out, y + 2, f(maxMin / 63));
  for (let j = 0; j < 8; j++) {
    const sc = scaleMinK4(out, y + 4, j, scratch.min);
    const dl = f(d * sc);
    if (!dl) continue;
    const ml = f(dmin * scratch.min[0]);
    for (let i = 0; i < 32; i++) codes[32 * j + i] = Math.max(0, Math.min(nmax, nearestInt(f(f(values[x + 32 * j + i] + ml) / dl))));
  }
}

export function scaleMinScratch() {
  return { weights: new Float32Array(32), work: new Uint8Array(32), scales: new Float32Array(8), mins: new Float32Array(8), minOut: new Float32Array(1), min: new Uint8Array(1) };
}
