import type { KernelBackend } from "../kernel-backend.js";
import { weightBlockLayout, weightRowBytes } from "../kernel-inputs.js";
import { decodeKQuant } from "../ts/k-quant-blocks.js";
import { halfToNumber, legacyCode, roundToHalf } from "../ts/quantized-matmul-reference.js";
import type { QuantizedMatmulCase } from "./quantized-matmul-cases.js";
import type { CaseOutcome } from "./run-conformance-case.js";
import { gaussianArray, seededRandom } from "./seeded-random.js";

const bitsView = new DataView(new ArrayBuffer(4));

/** Bits of the half nearest to `value` (finite halves: subnormal and normal). */
export function halfBits(value: number): number {
  const half = roundToHalf(value);
  const sign = half < 0 || Object.is(half, -0) ? 0x8000 : 0;
  if (Math.abs(half) < 2 ** -14) return sign | Math.round(Math.abs(half) * 2 ** 24);
  bitsView.setFloat32(0, half, true);
  const bits = bitsView.getUint32(0, true);
  const exponent = ((bits >>> 23) & 0xff) - 127 + 15;
  return ((bits >>> 16) & 0x8000) | (exponent << 10) | ((bits >>> 13) & 0x3ff);
}

/** Random valid blocks of `format`: scales are halves in ±[0.002, 0.05], codes uniform over all values. */
export function randomWeightBlocks(random: () => number, format: QuantizedMatmulCase["format"], rows: number, columns: number): Uint8Array {
  const bytes = new Uint8Array(rows * weightRowBytes(format, columns));
  const view = new DataView(bytes.buffer);
  if (format === "f16") {
    const values = gaussianArray(random, rows * columns, 0.05);
    for (let i = 0; i < values.length; i++) view.setUint16(i * 2, halfBits(values[i]), true);
    return bytes;
  }
  if (format === "q4_k" || format === "q6_k") {
    // Every byte random (all codes, 6-bit scales/mins, i8 scales), then the fp16 d (and dmin) set.
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    const blockBytes = format === "q4_k" ? 144 : 210;
    const randomHalf = (scale: number) => halfBits((random() < 0.5 ? -1 : 1) * scale * (0.04 + 0.96 * random()));
    for (let at = 0; at < bytes.length; at += blockBytes) {
      // Sizes like a real file's: |d·sc| up to ~0.05 per code step (Q4_K sc ≤ 63, Q6_K |sc| ≤ 128).
      if (format === "q4_k") {
        view.setUint16(at, randomHalf(0.05 / 63), true);
        view.setUint16(at + 2, randomHalf(0.4 / 63), true);
      } else view.setUint16(at + 208, randomHalf(0.05 / 128), true);
    }
    return bytes;
  }
  const blockBytes = weightBlockLayout[format].bytes;
  for (let at = 0; at < bytes.length; at += blockBytes) {
    view.setUint16(at, halfBits((random() < 0.5 ? -1 : 1) * (0.002 + 0.048 * random())), true);
    // Q8_0 codes in [−127, 127] (ggml never writes −128); Q4_0, Q4_1 and Q5_0 any byte; then Q4_1's
    // m (the block's offset) a random half in ±[0.002, 0.402], up to ~8 code steps of the largest d.
    for (let j = 2; j < blockBytes; j++) bytes[at + j] = format === "q8_0" ? (Math.floor(random() * 255) - 127) & 0xff : Math.floor(random() * 256);
    if (format === "q4_1") view.setUint16(at + 2, halfBits((random() < 0.5 ? -1 : 1) * (0.002 + 0.4 * random())), true);
  }
  return bytes;
}

/**
 * Σ_j |w_j|·|x_j| per row: the scale of a reordered float sum's rounding error (K-quants: Σ_j
 * (|d·sc·q_j| + |dmin·m|)·|x_j|, the two terms each sub-block subtracts).
 */
export function absoluteRowSums(bytes: Uint8Array, format: QuantizedMatmulCase["format"], rows: number, columns: number, vector: Float32Array): Float64Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const rowBytes = weightRowBytes(format, columns);
  const sums = new Float64Array(rows);
  if (format === "q4_k" || format === "q6_k") {
    const blockBytes = format === "q4_k" ? 144 : 210;
    for (let row = 0; row < rows; row++) {
      for (let s = 0; s < columns / 256; s++) {
        const block = decodeKQuant(format, bytes, row * rowBytes + s * blockBytes);
        for (let i = 0; i < 256; i++) {
          const j = Math.floor(i / block.subBlockSize);
          sums[row] += (Math.abs(block.scales[j] * block.codes[i]) + Math.abs(block.minimums[j])) * Math.abs(vector[s * 256 + i]);
        }
      }
    }
    return sums;
  }
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      let weight: number;
      if (format === "f16") weight = halfToNumber(view.getUint16(row * rowBytes + column * 2, true));
      else {
        const block = row * rowBytes + (column >> 5) * weightBlockLayout[format].bytes;
        // Q4_1: |d·q| + |m|, the two terms of each value.
        weight = Math.abs(legacyCode(format, bytes, block, column & 31) * halfToNumber(view.getUint16(block, true)));
        if (format === "q4_1") weight += Math.abs(halfToNumber(view.getUint16(block + 2, true)));
      }
      sums[row] += Math.abs(weight * vector[column]);
    }
  }
  return sums;
}

/**
 * Runs one case on `backend` and on the ts `oracle`; passes when every row agrees within
 * precision.absolute + precision.relative · Σ|w·x| (the row's absolute sum bounds reordering error;
 * the activation codes themselves must match exactly, or rows would differ by whole code steps).
 */
export async function runQuantizedMatmulCase(backend: KernelBackend, oracle: KernelBackend, testCase: QuantizedMatmulCase): Promise<CaseOutcome> {
  const random = seededRandom(testCase.seed);
  const matrix = randomWeightBlocks(random, testCase.format, testCase.rows, testCase.columns);
  const vector = gaussianArray(random, testCase.columns);
  const shape = { format: testCase.format, vector, rows: testCase.rows, columns: testCase.columns };
  const expected = await oracle.kernels.quantizedMatmul!({ ...shape, matrix });
  const resident = testCase.resident ? backend.upload(matrix) : undefined;
  const result = await backend.kernels.quantizedMatmul!({ ...shape, matrix: resident ?? matrix });
  resident?.dispose();
  const scale = absoluteRowSums(matrix, testCase.format, testCase.rows, testCase.columns, vector);
  let worstExcess = -Infinity;
  let worst = 0;
  for (let row = 0; row < testCase.rows; row++) {
    const excess = Math.abs(result[row] - expected[row]) - (backend.precision.absolute + backend.precision.relative * scale[row]);
    if (!(excess <= worstExcess)) {
      worstExcess = Number.isNaN(excess) ? Infinity : excess;
      worst = row;
    }
  }
  return { name: testCase.name, passed: result.length === testCase.rows && worstExcess <= 0, worstExcess, detail: `worst row ${worst}: ${result[worst]} vs oracle ${expected[worst]}` };
}
