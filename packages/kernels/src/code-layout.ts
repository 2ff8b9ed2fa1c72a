/** Bit widths a Uint8 code array may use; 16 means a Uint16Array of indices. */
export type CodeBitWidth = 1 | 2 | 4 | 8 | 16;

/** Code elements (bytes for Uint8 codes, indices for Uint16) per row; rows start on a byte. */
export function codeRowLength(blocksPerRow: number, bitWidth: CodeBitWidth): number {
  if (bitWidth === 16 || bitWidth === 8) return blocksPerRow;
  return Math.ceil((blocksPerRow * bitWidth) / 8);
}

/** Smallest supported packed width that holds `size` distinct codes. */
export function bitWidthForSize(size: number): CodeBitWidth {
  if (size <= 2) return 1;
  if (size <= 4) return 2;
  if (size <= 16) return 4;
  if (size <= 256) return 8;
  return 16;
}

/** Code of (row, block) from a code array in the layout above. */
export function readCode(
  codes: Uint8Array | Uint16Array,
  bitWidth: CodeBitWidth,
  rowLength: number,
  row: number,
  block: number,
): number {
  if (bitWidth >= 8) return codes[row * rowLength + block];
  const bit = block * bitWidth;
  const byte = codes[row * rowLength + (bit >>> 3)];
  return (byte >>> (bit & 7)) & ((1 << bitWidth) - 1);
}

/** Packs one-index-per-byte codes (`rowCount × blocksPerRow`) at 1, 2 or 4 bits, LSB first. */
export function packCodes(
  codes: Uint8Array,
  rowCount: number,
  blocksPerRow: number,
  bitWidth: 1 | 2 | 4,
): Uint8Array {
  if (codes.length !== rowCount * blocksPerRow) {
    throw new RangeError(`packCodes: expected ${rowCount * blocksPerRow} codes, got ${codes.length}`);
  }
  const rowLength = codeRowLength(blocksPerRow, bitWidth);
  const packed = new Uint8Array(rowCount * rowLength);
  const limit = 1 << bitWidth;
  for (let row = 0; row < rowCount; row++) {
    for (let block = 0; block < blocksPerRow; block++) {
      const code = codes[row * blocksPerRow + block];
      if (code >= limit) throw new RangeError(`packCodes: code ${code} does not fit in ${bitWidth} bits`);
      const bit = block * bitWidth;
      packed[row * rowLength + (bit >>> 3)] |= code << (bit & 7);
    }
  }
  return packed;
}

/** Inverse of `packCodes`. */
export function unpackCodes(
  packed: Uint8Array,
  rowCount: number,
  blocksPerRow: number,
  bitWidth: 1 | 2 | 4,
): Uint8Array {
  const rowLength = codeRowLength(blocksPerRow, bitWidth);
  if (packed.length < rowCount * rowLength) {
    throw new RangeError(`unpackCodes: expected ${rowCount * rowLength} bytes, got ${packed.length}`);
  }
  const codes = new Uint8Array(rowCount * blocksPerRow);
  for (let row = 0; row < rowCount; row++) {
    for (let block = 0; block < blocksPerRow; block++) {
      codes[row * blocksPerRow + block] = readCode(packed, bitWidth, rowLength, row, block);
    }
  }
  return codes;
}
