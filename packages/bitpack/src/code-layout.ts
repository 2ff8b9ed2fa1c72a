import { orBits, readBits, readWideBits, writeWideBits } from "./bit-io.js";
import { BitpackError } from "./bitpack-error.js";

/** Largest radix (codebook size) supported: codes of up to 24 bits. */
export const maxRadix = 1 << 24;
/**
 * Widest group integer. 52 rather than 53 bits keeps every intermediate of the
 * divide-and-correct digit extraction (q·radix ≤ value + radix) an exact float64 integer.
 */
export const maxGroupBits = 52;

export interface CodeLayoutOptions {
  /** Upper bound on the bits of one group integer: 32 keeps all arithmetic in 32-bit integers. Default 52. */
  maxGroupBits?: number;
}

/** Number of bits needed to write every integer in [0, radix^digits − 1] (exact, via BigInt). */
function groupBits(radix: number, digits: number): number {
  if (radix === 1 || digits === 0) return 0;
  const largest = BigInt(radix) ** BigInt(digits) - 1n;
  return largest.toString(2).length;
}

/**
 * Fixed-rate layout for codes in [0, radix): groups of `codesPerGroup` codes are stored as one
 * mixed-radix integer Σ c_j·radix^j of `bitsPerGroup` bits, groups back to back in a little-endian
 * bit stream. For a power-of-two radix this is plain fixed-width packing (one code per group).
 * Code i sits in group ⌊i/g⌋ at a computable bit offset, so random access is O(1).
 */
export class CodeLayout {
  readonly radix: number;
  readonly codesPerGroup: number;
  readonly bitsPerGroup: number;
  /** Average stored bits per code, bitsPerGroup / codesPerGroup (≥ log2 radix). */
  readonly bitsPerCode: number;
  /** Width in bits when the radix is a power of two (one code per group), else -1. */
  readonly fixedWidth: number;
  private readonly powers: Float64Array;
  private readonly tailBits: Int32Array;

  constructor(radix: number, options: CodeLayoutOptions = {}) {
    if (!Number.isInteger(radix) || radix < 1 || radix > maxRadix) {
      throw new BitpackError("invalid-radix", `radix must be an integer in [1, ${maxRadix}], got ${radix}`);
    }
    const limit = options.maxGroupBits ?? maxGroupBits;
    if (!Number.isInteger(limit) || limit < 24 || limit > maxGroupBits) {
      throw new BitpackError("invalid-width", `maxGroupBits must be an integer in [24, ${maxGroupBits}], got ${limit}`);
    }
    this.radix = radix;
    const width = Math.log2(radix);
    if (Number.isInteger(width)) {
      this.codesPerGroup = 1;
      this.bitsPerGroup = width;
      this.fixedWidth = width;
    } else {
      // Smallest bits per code over all group sizes that fit; ties go to the smaller group.
      let bestDigits = 1;
      let bestBits = groupBits(radix, 1);
      for (let digits = 2; ; digits++) {
        const bits = groupBits(radix, digits);
        if (bits > limit) break;
        if (bits * bestDigits < bestBits * digits) {
          bestDigits = digits;
          bestBits = bits;
        }
      }
      this.codesPerGroup = bestDigits;
      this.bitsPerGroup = bestBits;
      this.fixedWidth = -1;
    }
    this.bitsPerCode = this.codesPerGroup === 0 ? 0 : this.bitsPerGroup / this.codesPerGroup;
    this.powers = new Float64Array(this.codesPerGroup + 1);
    this.tailBits = new Int32Array(this.codesPerGroup);
    let power = 1;
    for (let digit = 0; digit <= this.codesPerGroup; digit++) {
      this.powers[digit] = power;
      power *= radix;
    }
    for (let digits = 0; digits < this.codesPerGroup; digits++) this.tailBits[digits] = groupBits(radix, digits);
  }

  /** Exact stored bits of `count` codes: full groups plus a final partial group of minimal width. */
  bitLength(count: number): number {
    checkCount(count);
    const groups = Math.floor(count / this.codesPerGroup);
    return groups * this.bitsPerGroup + this.tailBits[count - groups * this.codesPerGroup];
  }

  /** Exact bytes of `count` packed codes: ⌈bitLength / 8⌉. */
  byteLength(count: number): number {
    return Math.ceil(this.bitLength(count) / 8);
  }

  /** Bit offset of group `group`, and its width (a final partial group is narrower). */
  private groupWidth(group: number, count: number): number {
    const start = group * this.codesPerGroup;
    const digits = count - start;
    return digits >= this.codesPerGroup ? this.bitsPerGroup : this.tailBits[digits];
  }

  /** Code `index` of a stream of `count` codes starting at byte `byteOffset`, in O(1). */
  read(bytes: Uint8Array, byteOffset: number, index: number, count: number): number {
    if (this.fixedWidth >= 0) return readBits(bytes, byteOffset * 8 + index * this.fixedWidth, this.fixedWidth);
    const group = Math.floor(index / this.codesPerGroup);
    const digit = index - group * this.codesPerGroup;
    const value = readWideBits(bytes, byteOffset * 8 + group * this.bitsPerGroup, this.groupWidth(group, count));
    return this.digitOf(value, digit);
  }

  /** Overwrites code `index` in place (other codes unchanged). */
  write(bytes: Uint8Array, byteOffset: number, index: number, count: number, code: number): void {
    checkCode(code, this.radix);
    if (this.fixedWidth >= 0) {
      writeWideBits(bytes, byteOffset * 8 + index * this.fixedWidth, this.fixedWidth, code);
      return;
    }
    const group = Math.floor(index / this.codesPerGroup);
    const digit = index - group * this.codesPerGroup;
    const bitOffset = byteOffset * 8 + group * this.bitsPerGroup;
    const width = this.groupWidth(group, count);
    const value = readWideBits(bytes, bitOffset, width);
    const old = this.digitOf(value, digit);
    writeWideBits(bytes, bitOffset, width, value + (code - old) * this.powers[digit]);
  }

  private digitOf(value: number, digit: number): number {
    const power = this.powers[digit];
    let quotient = Math.floor(value / power);
    const rest = value - quotient * power;
    if (rest < 0) quotient -= 1;
    else if (rest >= power) quotient += 1;
    const high = Math.floor(quotient / this.radix);
    let code = quotient - high * this.radix;
    if (code < 0) code += this.radix;
    else if (code >= this.radix) code -= this.radix;
    return code;
  }

  /**
   * Packs codes[codesOffset .. codesOffset+count) into bytes at byteOffset (the target range is
   * cleared first). Throws on a code outside [0, radix) or a short buffer.
   */
  pack(codes: ArrayLike<number>, count: number, bytes: Uint8Array, byteOffset = 0, codesOffset = 0): void {
    const byteLength = this.byteLength(count);
    if (byteOffset + byteLength > bytes.length) {
      throw new BitpackError("buffer-too-small", `need ${byteOffset + byteLength} bytes, buffer has ${bytes.length}`);
    }
    if (codesOffset + count > codes.length) {
      throw new BitpackError("invalid-count", `need ${codesOffset + count} codes, got ${codes.length}`);
    }
    bytes.fill(0, byteOffset, byteOffset + byteLength);
    const radix = this.radix;
    const base = byteOffset * 8;
    if (this.fixedWidth >= 0) {
      const width = this.fixedWidth;
      if (width === 8) {
        for (let index = 0; index < count; index++) {
          const code = codes[codesOffset + index];
          if (!((code >>> 0) === code && code < radix)) checkCode(code, radix);
          bytes[byteOffset + index] = code;
        }
        return;
      }
      if (width === 16) {
        for (let index = 0; index < count; index++) {
          const code = codes[codesOffset + index];
          if (!((code >>> 0) === code && code < radix)) checkCode(code, radix);
          bytes[byteOffset + 2 * index] = code & 0xff;
          bytes[byteOffset + 2 * index + 1] = code >>> 8;
        }
        return;
      }
      for (let index = 0; index < count; index++) {
        const code = codes[codesOffset + index];
        if (!((code >>> 0) === code && code < radix)) checkCode(code, radix);
        orBits(bytes, base + index * width, width, code);
      }
      return;
    }
    const perGroup = this.codesPerGroup;
    let bitOffset = base;
    for (let start = 0; start < count; start += perGroup) {
      const digits = Math.min(perGroup, count - start);
      let value = 0;
      for (let digit = digits - 1; digit >= 0; digit--) {
        const code = codes[codesOffset + start + digit];
        if (!((code >>> 0) === code && code < radix)) checkCode(code, radix);
        value = value * radix + code;
      }
      const width = digits === perGroup ? this.bitsPerGroup : this.tailBits[digits];
      if (width <= 32) orBits(bytes, bitOffset, width, value);
      else writeWideBits(bytes, bitOffset, width, value);
      bitOffset += width;
    }
  }

  /**
   * Unpacks codes [start, start+length) of a stream of `count` codes at byteOffset into
   * out[outOffset ..]. Reads each group integer once.
   */
  unpack(
    bytes: Uint8Array,
    byteOffset: number,
    count: number,
    out: Uint32Array | Int32Array | Float64Array | number[],
    start = 0,
    length = count - start,
    outOffset = 0,
  ): void {
    if (start < 0 || length < 0 || start + length > count) {
      throw new BitpackError("invalid-count", `range [${start}, ${start + length}) is outside [0, ${count})`);
    }
    const base = byteOffset * 8;
    if (this.fixedWidth >= 0) {
      const width = this.fixedWidth;
      if (width === 8) {
        for (let index = 0; index < length; index++) out[outOffset + index] = bytes[byteOffset + start + index];
      } else if (width === 16) {
        const first = byteOffset + 2 * start;
        for (let index = 0; index < length; index++) {
          out[outOffset + index] = bytes[first + 2 * index] | (bytes[first + 2 * index + 1] << 8);
        }
      } else if (width === 4 && (start & 1) === 0) {
        let index = 0;
        let position = byteOffset + (start >> 1);
        for (; index + 1 < length; index += 2, position++) {
          const byte = bytes[position];
          out[outOffset + index] = byte & 15;
          out[outOffset + index + 1] = byte >> 4;
        }
        if (index < length) out[outOffset + index] = bytes[position] & 15;
      } else if (width === 2 && (start & 3) === 0) {
        let index = 0;
        let position = byteOffset + (start >> 2);
        for (; index + 3 < length; index += 4, position++) {
          const byte = bytes[position];
          out[outOffset + index] = byte & 3;
          out[outOffset + index + 1] = (byte >> 2) & 3;
          out[outOffset + index + 2] = (byte >> 4) & 3;
          out[outOffset + index + 3] = byte >> 6;
        }
        for (let shift = 0; index < length; index++, shift += 2) out[outOffset + index] = (bytes[position] >> shift) & 3;
      } else if (length > 0) {
        // Bit-buffer reader: refill a byte at a time; width ≤ 24 keeps the buffer within 31 bits.
        const bitOffset = base + start * width;
        let position = bitOffset >>> 3;
        let buffer = bytes[position++] >>> (bitOffset & 7);
        let available = 8 - (bitOffset & 7);
        const mask = (1 << width) - 1;
        for (let index = 0; index < length; index++) {
          while (available < width) {
            buffer = (buffer | (bytes[position++] << available)) >>> 0;
            available += 8;
          }
          out[outOffset + index] = buffer & mask;
          buffer >>>= width;
          available -= width;
        }
      }
      return;
    }
    const perGroup = this.codesPerGroup;
    const radix = this.radix;
    const end = start + length;
    let group = Math.floor(start / perGroup);
    let index = start;
    let written = outOffset;
    while (index < end) {
      const groupStart = group * perGroup;
      const digits = Math.min(perGroup, count - groupStart);
      const width = digits === perGroup ? this.bitsPerGroup : this.tailBits[digits];
      let value = readWideBits(bytes, base + group * this.bitsPerGroup, width);
      const groupEnd = Math.min(groupStart + digits, end);
      if (width <= 32) {
        for (let digit = groupStart; digit < groupEnd; digit++) {
          const quotient = Math.floor(value / radix);
          if (digit >= index) out[written++] = value - quotient * radix;
          value = quotient;
        }
      } else {
        for (let digit = groupStart; digit < groupEnd; digit++) {
          let quotient = Math.floor(value / radix);
          let code = value - quotient * radix;
          if (code < 0) {
            quotient -= 1;
            code += radix;
          } else if (code >= radix) {
            quotient += 1;
            code -= radix;
          }
          if (digit >= index) out[written++] = code;
          value = quotient;
        }
      }
      index = groupEnd;
      group += 1;
    }
  }
}

function checkCount(count: number): void {
  if (!Number.isInteger(count) || count < 0) {
    throw new BitpackError("invalid-count", `count must be a non-negative integer, got ${count}`);
  }
}

function checkCode(code: number, radix: number): void {
  if (!Number.isInteger(code) || code < 0 || code >= radix) {
    throw new BitpackError("code-out-of-range", `code ${code} is outside [0, ${radix})`);
  }
}
