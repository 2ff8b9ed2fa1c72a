import type { AttentionLayout } from "../validate-inputs.js";
import { blockTables, checkCode, tableScores, type PlainRows } from "./vector-quantization-reference.js";
import { readCode } from "../code-layout.js";

/** Softmax in place over `scores[0 .. count)` (max-subtracted, float64). */
export function softmaxInPlace(scores: Float64Array, count: number): void {
  let maximum = -Infinity;
  for (let t = 0; t < count; t++) maximum = Math.max(maximum, scores[t]);
  let sum = 0;
  for (let t = 0; t < count; t++) {
    scores[t] = Math.exp(scores[t] - maximum);
    sum += scores[t];
  }
  for (let t = 0; t < count; t++) scores[t] /= sum;
}

export interface AttentionDimensions {
  readonly queries: Float32Array;
  readonly tokenCount: number;
  readonly headCount: number;
  readonly dimension: number;
}

/** Compressed keys and values: scores through lookup tables, softmax, value accumulation. */
export function compressedAttentionReference(
  shape: AttentionDimensions,
  layout: AttentionLayout,
  keys: PlainRows,
  values: PlainRows,
): Float32Array {
  const { queries, tokenCount, headCount, dimension } = shape;
  const out = new Float32Array(headCount * dimension);
  const weights = new Float64Array(tokenCount);
  const accumulator = new Float64Array(dimension);
  const { blockSize, blocksPerRow, bitWidth, rowLength, size } = values.layout;
  for (let head = 0; head < headCount; head++) {
    const firstRow = Math.floor(head / layout.groupSize) * layout.headStride;
    const table = blockTables(queries, head * dimension, keys.codewords, keys.layout);
    tableScores("attention", table, keys, firstRow, tokenCount, weights, layout.tokenStride);
    for (let t = 0; t < tokenCount; t++) weights[t] *= layout.scale;
    softmaxInPlace(weights, tokenCount);
    accumulator.fill(0);
    for (let t = 0; t < tokenCount; t++) {
      const row = firstRow + t * layout.tokenStride;
      const weight = weights[t] * values.norms[row];
      for (let block = 0; block < blocksPerRow; block++) {
        const code = checkCode("attention", readCode(values.codes, bitWidth, rowLength, row, block), size, row);
        for (let j = 0; j < blockSize; j++) {
          accumulator[block * blockSize + j] += weight * values.codewords[code * blockSize + j];
        }
      }
    }
    for (let i = 0; i < dimension; i++) out[head * dimension + i] = accumulator[i];
  }
  return out;
}

export function denseAttentionReference(
  shape: AttentionDimensions,
  layout: AttentionLayout,
  keys: Float32Array,
  values: Float32Array,
): Float32Array {
  const { queries, tokenCount, headCount, dimension } = shape;
  const out = new Float32Array(headCount * dimension);
  const weights = new Float64Array(tokenCount);
  const accumulator = new Float64Array(dimension);
  for (let head = 0; head < headCount; head++) {
    const firstRow = Math.floor(head / layout.groupSize) * layout.headStride;
    const { tokenStride } = layout;
    for (let t = 0; t < tokenCount; t++) {
      let dot = 0;
      for (let i = 0; i < dimension; i++) dot += queries[head * dimension + i] * keys[(firstRow + t * tokenStride) * dimension + i];
      weights[t] = dot * layout.scale;
    }
    softmaxInPlace(weights, tokenCount);
    accumulator.fill(0);
    for (let t = 0; t < tokenCount; t++) {
      for (let i = 0; i < dimension; i++) accumulator[i] += weights[t] * values[(firstRow + t * tokenStride) * dimension + i];
    }
    for (let i = 0; i < dimension; i++) out[head * dimension + i] = accumulator[i];
  }
  return out;
}
