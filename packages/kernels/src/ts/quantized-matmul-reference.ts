import { KernelInputError } from "../kernel-errors.js";
import { type QuantizedMatmulBatchInputs, type QuantizedMatmulInputs, type WeightFormat, weightBlockLayout, weightRowBytes } from "../kernel-inputs.js";
import { decodeKQuant } from "./k-quant-blocks.js";
import { requireArray, requireFinite, requireLength, requirePositiveInteger } from "../validate-inputs.js";

export const weightFormats: readonly WeightFormat[] = ["q8_0", "q4_0", "f16", "q4_k", "q6_k", "q4_1", "q5_0"];

export function validateQuantizedMatmul(inputs: QuantizedMatmulInputs, backendName: string): void {
  validateWeights("quantizedMatmul", inputs, backendName);
  requireArray("quantizedMatmul", "vector", inputs.vector, "float32", backendName);
  requireLength("quantizedMatmul", "vector", inputs.vector.length, inputs.columns);
  requireFinite("quantizedMatmul", "vector", inputs.vector);
  validateOut("quantizedMatmul", inputs.out, inputs.rows, backendName);
}

export function validateQuantizedMatmulBatch(inputs: QuantizedMatmulBatchInputs, backendName: string): void {
  const kernel = "quantizedMatmulBatch";
  requirePositiveInteger(kernel, "count", inputs.count);
  validateWeights(kernel, inputs, backendName);
  requireArray(kernel, "vectors", inputs.vectors, "float32", backendName);
  requireLength(kernel, "vectors", inputs.vectors.length, inputs.count * inputs.columns);
  requireFinite(kernel, "vectors", inputs.vectors);
  validateOut(kernel, inputs.out, inputs.count * inputs.rows, backendName);
}

/** `out`, when given, must be a Float32Array of exactly the result's length. */
function validateOut(kernel: string, out: Float32Array | undefined, length: number, backendName: string): void {
  if (out === undefined) return;
  requireArray(kernel, "out", out, "float32", backendName);
  requireLength(kernel, "out", out.length, length);
}

/** `result` in the caller's `out` when given (returned), else itself. */
export function intoOut(result: Float32Array, out: Float32Array | undefined): Float32Array {
  if (out === undefined) return result;
  out.set(result);
  return out;
}

/** One vector of a batch as quantizedMatmul's inputs (a view, no copy). */
export function batchVectorInputs(inputs: QuantizedMatmulBatchInputs, index: number): QuantizedMatmulInputs {
  const { matrix, format, rows, columns } = inputs;
  // No `out`: the batch writes its own.
  return { matrix, format, rows, columns, vector: inputs.vectors.subarray(index * columns, (index + 1) * columns) };
}

function validateWeights(kernel: string, inputs: QuantizedMatmulInputs | QuantizedMatmulBatchInputs, backendName: string): void {
  if (!weightFormats.includes(inputs.format)) {
    throw new KernelInputError(kernel, `format must be one of ${weightFormats.join(", ")}, got ${JSON.stringify(inputs.format)}`);
  }
  requirePositiveInteger(kernel, "rows", inputs.rows);
  requirePositiveInteger(kernel, "columns", inputs.columns);
  const multiple = inputs.format === "f16" ? 8 : weightBlockLayout[inputs.format].size;
  if (inputs.columns % multiple !== 0) throw new KernelInputError(kernel, `${inputs.format} needs columns to be a multiple of ${multiple}, got ${inputs.columns}`);
  requireArray(kernel, "matrix", inputs.matrix, "uint8", backendName);
  requireLength(kernel, "matrix", inputs.matrix.length, inputs.rows * weightRowBytes(inputs.format, inputs.columns));
}

const halfView = new DataView(new ArrayBuffer(4));

/** IEEE half bits → number (exact). */
export function halfToNumber(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa ? Number.NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** Nearest half (ties to even) of a float32 value, as a number: GGML_FP32_TO_FP16 then back. */
export function roundToHalf(value: number): number {
  const magnitude = Math.abs(value);
  if (magnitude < 2 ** -14) {
    const steps = magnitude * 2 ** 24;
    const floor = Math.floor(steps);
    const rounded = steps - floor > 0.5 || (steps - floor === 0.5 && floor % 2 === 1) ? floor + 1 : floor;
    return Math.sign(value) * rounded * 2 ** -24;
  }
  halfView.setFloat32(0, value, true);
  const bits = halfView.getUint32(0, true);
  const rest = bits & 0x1fff;
  let kept = (bits & ~0x1fff) >>> 0;
  if (rest > 0x1000 || (rest === 0x1000 && (kept & 0x2000) !== 0)) kept = (kept + 0x2000) >>> 0;
  halfView.setUint32(0, kept, true);
  return halfView.getFloat32(0, true);
}

/**
 * llama.cpp quantize_row_q8_0_ref on the activations: per 32 values, d = max|x|/127 (float), q =
 * roundf(x·(1/d)), d kept as fp16. Returns the i8 codes and the half-rounded scales.
 */
export function quantizeActivationsQ8_0(vector: Float32Array): { quants: Int8Array; scales: Float64Array } {
  const blocks = vector.length / 32;
  const quants = new Int8Array(vector.length);
  const scales = new Float64Array(blocks);
  for (let block = 0; block < blocks; block++) {
    let amax = 0;
    for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(vector[block * 32 + j]));
    const d = Math.fround(amax / 127);
    const inverse = d !== 0 ? Math.fround(1 / d) : 0;
    for (let j = 0; j < 32; j++) {
      const scaled = Math.fround(vector[block * 32 + j] * inverse);
      quants[block * 32 + j] = Math.sign(scaled) * Math.floor(Math.abs(scaled) + 0.5);
    }
    scales[block] = roundToHalf(d);
  }
  return { quants, scales };
}

/**
 * The oracle: Σ_blocks d_w·d_x·Σ q_w·q_x in float64 (llama.cpp's vec_dot_q8_0_q8_0 / q4_0_q8_0 on
 * activations quantized as above); f16 weights widened exactly and dotted with the fp32 vector.
 * K-quants meet the same Q8_0 activations: per sub-block d_x·(d·sc·Σ q_w·q_x − dmin·m·Σ q_x).
 */
export function quantizedMatmulReference(inputs: QuantizedMatmulInputs, matrix: Uint8Array): Float32Array {
  const { rows, columns, format, vector } = inputs;
  const out = new Float32Array(rows);
  const rowBytes = weightRowBytes(format, columns);
  const view = new DataView(matrix.buffer, matrix.byteOffset, matrix.byteLength);
  if (format === "f16") {
    for (let row = 0; row < rows; row++) {
      let sum = 0;
      for (let column = 0; column < columns; column++) sum += halfToNumber(view.getUint16(row * rowBytes + column * 2, true)) * vector[column];
      out[row] = sum;
    }
    return out;
  }
  const { quants, scales } = quantizeActivationsQ8_0(vector);
  if (format === "q4_k" || format === "q6_k") return kQuantMatmul(format, matrix, rows, columns, quants, scales);
  const blockBytes = weightBlockLayout[format].bytes;
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    for (let block = 0; block < columns / 32; block++) {
      const at = row * rowBytes + block * blockBytes;
      const d = halfToNumber(view.getUint16(at, true));
      let integer = 0;
      let codeSum = 0;
      for (let j = 0; j < 32; j++) {
        integer += legacyCode(format, matrix, at, j) * quants[block * 32 + j];
        codeSum += quants[block * 32 + j];
      }
      // Q4_1's offset m meets d_x·Σ q_x.
      const offset = format === "q4_1" ? halfToNumber(view.getUint16(at + 2, true)) * codeSum : 0;
      sum += scales[block] * (d * integer + offset);
    }
    out[row] = sum;
  }
  return out;
}

/** Code j (value = d·code, + m for Q4_1) of the 32-value block at `at` (dequantize_row_q8_0 / q4_0 / q4_1 / q5_0). */
export function legacyCode(format: WeightFormat, matrix: Uint8Array, at: number, j: number): number {
  const nibble = (start: number) => (j < 16 ? matrix[start + j] & 0x0f : matrix[start + j - 16] >> 4);
  if (format === "q8_0") return (matrix[at + 2 + j] << 24) >> 24;
  if (format === "q4_0") return nibble(at + 2) - 8;
  if (format === "q4_1") return nibble(at + 4);
  // q5_0: bit j of the little-endian u32 at at + 2 is value j's fifth bit.
  const high = (matrix[at + 2 + (j >> 3)] >> (j & 7)) & 1;
  return (nibble(at + 6) | (high << 4)) - 16;
}

/** Q4_K / Q6_K rows · Q8_0 activations (codes, scales), float64 over exact integer sub-block dots. */
function kQuantMatmul(format: "q4_k" | "q6_k", matrix: Uint8Array, rows: number, columns: number, quants: Int8Array, scales: Float64Array): Float32Array {
  const out = new Float32Array(rows);
  const { bytes } = weightBlockLayout[format];
  const superBlocks = columns / 256;
  for (let row = 0; row < rows; row++) {
    let sum = 0;
    for (let s = 0; s < superBlocks; s++) {
      const block = decodeKQuant(format, matrix, (row * superBlocks + s) * bytes);
      const size = block.subBlockSize;
      for (let j = 0; j < 256 / size; j++) {
        let integer = 0;
        let codeSum = 0;
        for (let l = 0; l < size; l++) {
          integer += block.codes[j * size + l] * quants[s * 256 + j * size + l];
          codeSum += quants[s * 256 + j * size + l];
        }
        const activationScale = scales[(s * 256 + j * size) >> 5];
        sum += activationScale * (block.scales[j] * integer - block.minimums[j] * codeSum);
      }
    }
    out[row] = sum;
  }
  return out;
}
