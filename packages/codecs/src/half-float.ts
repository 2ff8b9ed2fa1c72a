/** IEEE 754 binary16 and bfloat16 conversions (round to nearest, ties to even). */

const floatView = new Float32Array(1);
const bitsView = new Uint32Array(floatView.buffer);

/** Largest finite binary16 value. */
export const maxHalf = 65504;

/** float → binary16 bits. Values beyond ±65504 round to ±Infinity; callers range-check first. */
export function toHalfBits(value: number): number {
  floatView[0] = value;
  const bits = bitsView[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - halfExponent;
    const halfway = 1 << (shift - 1);
    const remainder = mantissa & ((1 << shift) - 1);
    let result = mantissa >>> shift;
    if (remainder > halfway || (remainder === halfway && (result & 1) === 1)) result += 1;
    return sign | result;
  }
  let result = (halfExponent << 10) | (mantissa >>> 13);
  const remainder = mantissa & 0x1fff;
  if (remainder > 0x1000 || (remainder === 0x1000 && (result & 1) === 1)) result += 1;
  return sign | result;
}

const halfTable = new Float32Array(65536);
for (let bits = 0; bits < 65536; bits++) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  halfTable[bits] =
    exponent === 0
      ? sign * mantissa * 2 ** -24
      : exponent === 0x1f
        ? mantissa === 0
          ? sign * Infinity
          : Number.NaN
        : sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** binary16 bits → float (table lookup). */
export function fromHalfBits(bits: number): number {
  return halfTable[bits & 0xffff];
}

/** float → bfloat16 bits (the top 16 bits of the float32, rounded). */
export function toBfloat16Bits(value: number): number {
  floatView[0] = value;
  const bits = bitsView[0];
  if ((bits & 0x7f800000) === 0x7f800000) return (bits >>> 16) | ((bits & 0xffff) !== 0 ? 0x40 : 0);
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/** bfloat16 bits → float. */
export function fromBfloat16Bits(bits: number): number {
  bitsView[0] = (bits & 0xffff) << 16;
  return floatView[0];
}

/** binary16 bits of the largest half ≤ value (finite value within ±65504). */
export function halfBitsAtMost(value: number): number {
  const bits = toHalfBits(value);
  if (fromHalfBits(bits) <= value) return bits;
  // One ulp toward −∞: a smaller magnitude for positives, a larger one for negatives (−0 → smallest negative subnormal).
  if (bits === 0) return 0x8001;
  return bits & 0x8000 ? bits + 1 : bits - 1;
}

/** binary16 bits of the smallest half ≥ value (finite value within ±65504). */
export function halfBitsAtLeast(value: number): number {
  const bits = toHalfBits(value);
  if (fromHalfBits(bits) >= value) return bits;
  if (bits === 0x8000) return 0x0001;
  return bits & 0x8000 ? bits - 1 : bits + 1;
}
