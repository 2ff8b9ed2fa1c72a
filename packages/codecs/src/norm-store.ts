import { readFloat32, readUint16, writeFloat32, writeUint16 } from "./byte-io.js";
import type { NormFormat } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { fromBfloat16Bits, fromHalfBits, halfBitsAtLeast, halfBitsAtMost, maxHalf, toBfloat16Bits, toHalfBits } from "./half-float.js";

/** Bits per row of the log-scale formats. */
const logBits: Partial<Record<NormFormat, number>> = { log4: 4, log6: 6, log8: 8 };
/** Two fp16 log2 values: the block's norm range. */
const rangeHeaderBytes = 4;

/**
 * Per-row vector norms of a block, stored in one of the {@link NormFormat}s.
 *
 * `log8` (and `log6`, `log4`): b bits per row. Code 0 is an exact zero norm; codes 1..2^b−1 are
 * uniform in log2 between the block's smallest and largest non-zero norm. That range sits in a 4-byte
 * header of two fp16 log2 values, the low end rounded down and the high end up so every norm stays
 * inside (fp16 holds log2 of any float64 norm; its ulp is ≤ 2^-6 below 2^10, far under a log step).
 * With a norm spread of 100× within a block the log8 step is 2^(6.64/254) ≈ 1.8 %, so the relative
 * norm error is ≤ 0.9 % (log6: ≤ 3.7 %, log4: ≤ 16 %). At small head dims the norm is a large share of
 * the bits (log8 at d = 8 is 1 bit per element); the smaller codes trade precision for codes, and the
 * range header is kept at 4 bytes because a 32-row block at d = 8 has only 256 elements to spread it on.
 */
export class NormStore {
  readonly format: NormFormat;
  readonly headerBytes: number;
  /** Bits per row for the log formats, 0 otherwise. */
  private readonly logWidth: number;
  private readonly logLevels: number;
  private readonly bytesPerRow: number;

  constructor(format: NormFormat) {
    this.format = format;
    this.logWidth = logBits[format] ?? 0;
    this.logLevels = (1 << this.logWidth) - 1;
    this.headerBytes = this.logWidth > 0 ? rangeHeaderBytes : 0;
    this.bytesPerRow = format === "fp32" ? 4 : 2;
  }

  byteLength(count: number): number {
    if (this.logWidth > 0) return this.headerBytes + Math.ceil((count * this.logWidth) / 8);
    return this.bytesPerRow * count;
  }

  /** Log code of `row`: `logWidth` bits, little-endian bit order, starting right after the range header. */
  private readLogCode(data: Uint8Array, offset: number, row: number): number {
    const width = this.logWidth;
    if (width === 8) return data[offset + rangeHeaderBytes + row];
    const bit = row * width;
    const byte = offset + rangeHeaderBytes + (bit >>> 3);
    const pair = data[byte] | ((data[byte + 1] ?? 0) << 8);
    return (pair >>> (bit & 7)) & this.logLevels;
  }

  private writeLogCode(data: Uint8Array, offset: number, row: number, code: number): void {
    const width = this.logWidth;
    if (width === 8) {
      data[offset + rangeHeaderBytes + row] = code;
      return;
    }
    const bit = row * width;
    const byte = offset + rangeHeaderBytes + (bit >>> 3);
    const shift = bit & 7;
    const mask = this.logLevels << shift;
    data[byte] = (data[byte] & ~mask) | ((code << shift) & 0xff);
    if (shift + width > 8) data[byte + 1] = (data[byte + 1] & ~(mask >>> 8)) | (code >>> (8 - shift));
  }

  /** Writes norms[0..count) at data[offset..]. */
  encode(norms: Float64Array, count: number, data: Uint8Array, offset: number): void {
    switch (this.format) {
      case "fp32":
        for (let row = 0; row < count; row++) writeFloat32(data, offset + 4 * row, norms[row]);
        return;
      case "fp16":
        for (let row = 0; row < count; row++) {
          if (norms[row] > maxHalf) {
            throw new CodecError("out-of-range", `vector norm ${norms[row]} exceeds the fp16 maximum ${maxHalf}; use norm "fp32", "bf16" or "log8"`);
          }
          writeUint16(data, offset + 2 * row, toHalfBits(norms[row]));
        }
        return;
      case "bf16":
        for (let row = 0; row < count; row++) writeUint16(data, offset + 2 * row, toBfloat16Bits(norms[row]));
        return;
      case "log4":
      case "log6":
      case "log8": {
        const levels = this.logLevels;
        let low = Infinity;
        let high = -Infinity;
        for (let row = 0; row < count; row++) {
          const norm = norms[row];
          if (norm > 0) {
            const log = Math.log2(norm);
            if (log < low) low = log;
            if (log > high) high = log;
          }
        }
        if (low === Infinity) low = high = 0;
        writeUint16(data, offset, halfBitsAtMost(low));
        writeUint16(data, offset + 2, halfBitsAtLeast(high));
        low = fromHalfBits(readUint16(data, offset));
        high = fromHalfBits(readUint16(data, offset + 2));
        const step = (high - low) / (levels - 1);
        for (let row = 0; row < count; row++) {
          const norm = norms[row];
          let code = 0;
          if (norm > 0) {
            code = step > 0 ? 1 + Math.round((Math.log2(norm) - low) / step) : 1;
            if (code < 1) code = 1;
            else if (code > levels) code = levels;
          }
          this.writeLogCode(data, offset, row, code);
        }
        return;
      }
    }
  }

  /** Decoded norm of one row (the exact value decode and scores use). */
  read(data: Uint8Array, offset: number, row: number): number {
    switch (this.format) {
      case "fp32":
        return readFloat32(data, offset + 4 * row);
      case "fp16":
        return fromHalfBits(readUint16(data, offset + 2 * row));
      case "bf16":
        return fromBfloat16Bits(readUint16(data, offset + 2 * row));
      case "log4":
      case "log6":
      case "log8": {
        const code = this.readLogCode(data, offset, row);
        if (code === 0) return 0;
        const low = fromHalfBits(readUint16(data, offset));
        const high = fromHalfBits(readUint16(data, offset + 2));
        return Math.fround(2 ** (low + ((code - 1) * (high - low)) / (this.logLevels - 1)));
      }
    }
  }
}
