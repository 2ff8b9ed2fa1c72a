/**
 * Little-endian bit-stream access: bit `b` of the stream is bit `b & 7` of byte `b >> 3`.
 * Reads past the end of the array see zero bits (typed arrays return undefined → 0 under `|`),
 * so callers may read a final partial word without a bounds branch.
 */

const twoTo32 = 4294967296;

/** Reads `width` (0..32) bits starting at absolute bit offset `bitOffset`, as an unsigned integer. */
export function readBits(bytes: Uint8Array, bitOffset: number, width: number): number {
  if (width === 0) return 0;
  const bytePosition = Math.floor(bitOffset / 8);
  const shift = bitOffset - bytePosition * 8;
  const low =
    (bytes[bytePosition] | (bytes[bytePosition + 1] << 8) | (bytes[bytePosition + 2] << 16) | (bytes[bytePosition + 3] << 24)) >>> 0;
  let value = low >>> shift;
  if (shift + width > 32) value = (value | (bytes[bytePosition + 4] << (32 - shift))) >>> 0;
  return width === 32 ? value >>> 0 : (value & ((1 << width) - 1)) >>> 0;
}

/** ORs `width` (0..32) bits of `value` into the stream; the target bits must be zero. */
export function orBits(bytes: Uint8Array, bitOffset: number, width: number, value: number): void {
  let bytePosition = Math.floor(bitOffset / 8);
  let shift = bitOffset - bytePosition * 8;
  let remaining = width;
  let rest = value >>> 0;
  while (remaining > 0) {
    const take = Math.min(8 - shift, remaining);
    bytes[bytePosition] |= (rest & ((1 << take) - 1)) << shift;
    rest = rest >>> take;
    remaining -= take;
    bytePosition += 1;
    shift = 0;
  }
}

/** Overwrites `width` (0..32) bits at `bitOffset` with `value` (other bits untouched). */
export function writeBits(bytes: Uint8Array, bitOffset: number, width: number, value: number): void {
  let bytePosition = Math.floor(bitOffset / 8);
  let shift = bitOffset - bytePosition * 8;
  let remaining = width;
  let rest = value >>> 0;
  while (remaining > 0) {
    const take = Math.min(8 - shift, remaining);
    const mask = ((1 << take) - 1) << shift;
    bytes[bytePosition] = (bytes[bytePosition] & ~mask) | ((rest << shift) & mask);
    rest = rest >>> take;
    remaining -= take;
    bytePosition += 1;
    shift = 0;
  }
}

/** Reads up to 53 bits as an exact safe integer. */
export function readWideBits(bytes: Uint8Array, bitOffset: number, width: number): number {
  if (width <= 32) return readBits(bytes, bitOffset, width);
  return readBits(bytes, bitOffset + 32, width - 32) * twoTo32 + readBits(bytes, bitOffset, 32);
}

/** Overwrites up to 53 bits at `bitOffset` with the safe integer `value`. */
export function writeWideBits(bytes: Uint8Array, bitOffset: number, width: number, value: number): void {
  if (width <= 32) {
    writeBits(bytes, bitOffset, width, value);
    return;
  }
  const high = Math.floor(value / twoTo32);
  writeBits(bytes, bitOffset, 32, value - high * twoTo32);
  writeBits(bytes, bitOffset + 32, width - 32, high);
}
