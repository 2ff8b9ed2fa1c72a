import type { CodeBitWidth } from "./code-layout.js";

const tableCache = new WeakMap<Float32Array, Map<string, Float32Array>>();

/**
 * For every byte value, the concatenated codewords of the codes packed in it: 256 × (codes per
 * byte · blockSize) floats. Decoding a row is then one table row copy per code byte. Codes ≥ size
 * expand to NaN so a bad code never yields a plausible vector.
 */
export function byteDecodeTable(
  codewords: Float32Array,
  blockSize: number,
  bitWidth: Exclude<CodeBitWidth, 16>,
): Float32Array {
  const key = `${blockSize}:${bitWidth}`;
  let byKey = tableCache.get(codewords);
  const cached = byKey?.get(key);
  if (cached) return cached;
  const size = codewords.length / blockSize;
  const codesPerByte = 8 / bitWidth;
  const floatsPerByte = codesPerByte * blockSize;
  const mask = bitWidth === 8 ? 255 : (1 << bitWidth) - 1;
  const table = new Float32Array(256 * floatsPerByte);
  for (let value = 0; value < 256; value++) {
    for (let slot = 0; slot < codesPerByte; slot++) {
      const code = (value >>> (slot * bitWidth)) & mask;
      for (let j = 0; j < blockSize; j++) {
        table[value * floatsPerByte + slot * blockSize + j] = code < size ? codewords[code * blockSize + j] : NaN;
      }
    }
  }
  if (!byKey) {
    byKey = new Map();
    tableCache.set(codewords, byKey);
  }
  byKey.set(key, table);
  return table;
}

/** True when every code byte of every row is full, so rows decode a whole byte at a time. */
export function rowsUseWholeBytes(blocksPerRow: number, bitWidth: CodeBitWidth): bitWidth is 1 | 2 | 4 | 8 {
  return bitWidth <= 8 && (blocksPerRow * bitWidth) % 8 === 0;
}
