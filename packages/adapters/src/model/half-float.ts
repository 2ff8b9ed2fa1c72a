// IEEE 754 half-precision and bfloat16 conversions (little-endian 16-bit patterns).

const conversionBuffer = new Float32Array(1);
const conversionBits = new Uint32Array(conversionBuffer.buffer);

/** The float value of a binary16 bit pattern. */
export function float16BitsToNumber(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Infinity : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** The binary16 bit pattern nearest to `value` (round to nearest even; overflow to infinity). */
export function numberToFloat16Bits(value: number): number {
  conversionBuffer[0] = value;
  const bits = conversionBits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 31) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    // Subnormal: shift the full significand, rounding to nearest even.
    const significand = mantissa | 0x800000;
    const shift = 14 - halfExponent;
    let half = significand >>> shift;
    const remainder = significand & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (remainder > halfway || (remainder === halfway && (half & 1))) half++;
    return sign | half;
  }
  let half = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (half & 1))) half++;
  return sign | half;
}

/** The float value of a bfloat16 bit pattern (the top half of a float32). */
export function bfloat16BitsToNumber(bits: number): number {
  conversionBits[0] = bits << 16;
  return conversionBuffer[0];
}

/** The bfloat16 bit pattern nearest to `value` (round to nearest even). */
export function numberToBfloat16Bits(value: number): number {
  conversionBuffer[0] = value;
  const bits = conversionBits[0];
  if ((bits & 0x7f800000) === 0x7f800000 && bits & 0x7fffff) return (bits >>> 16) | 0x40;
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** Decodes `count` little-endian binary16 values at `offset` of `bytes`. */
export function decodeFloat16(bytes: Uint8Array, offset: number, count: number, out: Float32Array = new Float32Array(count)): Float32Array {
  for (let i = 0; i < count; i++) out[i] = float16BitsToNumber(bytes[offset + 2 * i] | (bytes[offset + 2 * i + 1] << 8));
  return out;
}

/** Decodes `count` little-endian bfloat16 values at `offset` of `bytes`. */
export function decodeBfloat16(bytes: Uint8Array, offset: number, count: number, out: Float32Array = new Float32Array(count)): Float32Array {
  for (let i = 0; i < count; i++) out[i] = bfloat16BitsToNumber(bytes[offset + 2 * i] | (bytes[offset + 2 * i + 1] << 8));
  return out;
}
