import { nearestInShells, prepareShells } from "../codebook-shells.js";
import { readCode } from "../code-layout.js";
import { KernelInputError } from "../kernel-errors.js";
import type { DecodeInputs, EncodeInputs, EncodeResult, ScoresInputs } from "../kernel-inputs.js";
import {
  describeCodebook,
  describeRows,
  requireFinite,
  requireLength,
  requirePositiveInteger,
  type RowsLayout,
} from "../validate-inputs.js";

/** Reads codes and norms of plain arrays (the ts backend resolves its resident arrays first). */
export interface PlainRows {
  readonly codes: Uint8Array | Uint16Array;
  readonly norms: Float32Array;
  readonly codewords: Float32Array;
  readonly layout: RowsLayout;
}

export function checkCode(kernel: string, code: number, size: number, row: number): number {
  if (code >= size) throw new KernelInputError(kernel, `row ${row} holds code ${code} ≥ codebook size ${size}`);
  return code;
}

export function validateEncode(inputs: EncodeInputs): { size: number; blockSize: number } {
  const { vectors, count, dimension, codebook } = inputs;
  requirePositiveInteger("encode", "count", count);
  requirePositiveInteger("encode", "dimension", dimension);
  const layout = describeCodebook("encode", codebook);
  if (dimension % layout.blockSize !== 0) {
    throw new KernelInputError("encode", `dimension ${dimension} is not a multiple of blockSize ${layout.blockSize}`);
  }
  if (!(vectors instanceof Float32Array)) throw new KernelInputError("encode", "vectors must be a Float32Array");
  requireLength("encode", "vectors", vectors.length, count * dimension);
  requireFinite("encode", "vectors", vectors);
  return layout;
}

export function encodeReference(inputs: EncodeInputs): EncodeResult {
  const { vectors, count, dimension, codebook } = inputs;
  const { size, blockSize } = validateEncode(inputs);
  const shells = prepareShells(codebook);
  const blocksPerRow = dimension / blockSize;
  const codes = size <= 256 ? new Uint8Array(count * blocksPerRow) : new Uint16Array(count * blocksPerRow);
  const norms = new Float32Array(count);
  for (let row = 0; row < count; row++) {
    let sum = 0;
    for (let i = 0; i < dimension; i++) sum += vectors[row * dimension + i] ** 2;
    const norm = Math.sqrt(sum);
    norms[row] = norm;
    const inverse = norm > 0 ? 1 / norm : 0;
    for (let block = 0; block < blocksPerRow; block++) {
      const rank = nearestInShells(shells, vectors, row * dimension + block * blockSize, inverse);
      codes[row * blocksPerRow + block] = shells.order[rank];
    }
  }
  return { codes, norms };
}

export function decodeReference(kernel: string, rows: PlainRows, count: number, dimension: number): Float32Array {
  const { codes, norms, codewords, layout } = rows;
  const { blockSize, blocksPerRow, bitWidth, rowLength, size } = layout;
  const out = new Float32Array(count * dimension);
  for (let row = 0; row < count; row++) {
    for (let block = 0; block < blocksPerRow; block++) {
      const code = checkCode(kernel, readCode(codes, bitWidth, rowLength, row, block), size, row);
      for (let j = 0; j < blockSize; j++) {
        out[row * dimension + block * blockSize + j] = norms[row] * codewords[code * blockSize + j];
      }
    }
  }
  return out;
}

/** table[block][code] = q_block · codeword[code]: the per-block lookup tables of LUT scoring. */
export function blockTables(query: Float32Array, queryOffset: number, codewords: Float32Array, layout: RowsLayout): Float64Array {
  const { blockSize, blocksPerRow, size } = layout;
  const table = new Float64Array(blocksPerRow * size);
  for (let block = 0; block < blocksPerRow; block++) {
    for (let code = 0; code < size; code++) {
      let dot = 0;
      for (let j = 0; j < blockSize; j++) {
        dot += query[queryOffset + block * blockSize + j] * codewords[code * blockSize + j];
      }
      table[block * size + code] = dot;
    }
  }
  return table;
}

/** Σ over blocks of table lookups, times the row norm, for rows firstRow + index · rowStride. */
export function tableScores(
  kernel: string,
  table: Float64Array,
  rows: PlainRows,
  firstRow: number,
  count: number,
  out: Float64Array,
  rowStride = 1,
): void {
  const { codes, norms, layout } = rows;
  const { blocksPerRow, bitWidth, rowLength, size } = layout;
  for (let index = 0; index < count; index++) {
    const row = firstRow + index * rowStride;
    let sum = 0;
    for (let block = 0; block < blocksPerRow; block++) {
      const code = checkCode(kernel, readCode(codes, bitWidth, rowLength, row, block), size, row);
      sum += table[block * size + code];
    }
    out[index] = sum * norms[row];
  }
}

export function validateScores(inputs: ScoresInputs, backendName: string): RowsLayout {
  requirePositiveInteger("scores", "count", inputs.count);
  requirePositiveInteger("scores", "dimension", inputs.dimension);
  if (!(inputs.query instanceof Float32Array)) throw new KernelInputError("scores", "query must be a Float32Array");
  requireLength("scores", "query", inputs.query.length, inputs.dimension);
  requireFinite("scores", "query", inputs.query);
  return describeRows("scores", "keys", inputs.keys, inputs.count, inputs.dimension, backendName);
}

export function validateDecode(inputs: DecodeInputs, backendName: string): RowsLayout {
  requirePositiveInteger("decode", "count", inputs.count);
  requirePositiveInteger("decode", "dimension", inputs.dimension);
  return describeRows("decode", "rows", inputs.rows, inputs.count, inputs.dimension, backendName);
}
