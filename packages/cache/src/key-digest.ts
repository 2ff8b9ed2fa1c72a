import { CacheConfigurationError } from "./errors.js";

/**
 * How a page's key digest (per-channel min/max of its decoded keys) is stored:
 * - "fp32": 2 × headDim float32, exact (8·headDim bytes);
 * - "fp16": 2 × headDim float16, min rounded down and max rounded up (4·headDim bytes);
 * - "int8": one affine grid per page (float32 offset and step) and 2 × headDim 8-bit codes, min
 *   rounded down and max rounded up on the grid (2·headDim + 8 bytes).
 * Rounding outward keeps the box around every key, so the ArkVale bound Σ max(qᵢ·minᵢ, qᵢ·maxᵢ)
 * stays an upper bound of q·k; only its tightness drops.
 */
export type KeyDigestFormat = "fp32" | "fp16" | "int8";

export const keyDigestFormats: readonly KeyDigestFormat[] = ["fp32", "fp16", "int8"];

/** Stored bytes of one page's digest. */
export function keyDigestByteLength(format: KeyDigestFormat, headDim: number): number {
  switch (format) {
    case "fp32":
      return headDim * 8;
    case "fp16":
      return headDim * 4;
    case "int8":
      return headDim * 2 + 8;
    default:
      throw new CacheConfigurationError(`unknown key digest format "${String(format)}"; known: ${keyDigestFormats.join(", ")}`);
  }
}

export function checkKeyDigestFormat(format: string): asserts format is KeyDigestFormat {
  if (!(keyDigestFormats as readonly string[]).includes(format)) {
    throw new CacheConfigurationError(`unknown key digest format "${format}"; known: ${keyDigestFormats.join(", ")}`);
  }
}

// ------------------------------------------------------------------ float16

const float32Scratch = new Float32Array(1);
const float32Bits = new Uint32Array(float32Scratch.buffer);
let halfTable: Float32Array | undefined;

/** Value of every float16 bit pattern (65 536 entries, built once). */
function halfValues(): Float32Array {
  if (halfTable !== undefined) return halfTable;
  const table = new Float32Array(65536);
  for (let bits = 0; bits < 65536; bits++) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const mantissa = bits & 0x3ff;
    if (exponent === 0) table[bits] = sign * mantissa * 2 ** -24;
    else if (exponent === 0x1f) table[bits] = mantissa === 0 ? sign * Infinity : Number.NaN;
    else table[bits] = sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
  }
  halfTable = table;
  return table;
}

/** float16 bits of `value` rounded toward zero (finite overflow saturates at ±65504). */
function halfTowardZero(value: number): number {
  float32Scratch[0] = value;
  const bits = float32Bits[0];
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa !== 0 ? 0x200 : 0);
  const halfExponent = exponent - 112;
  if (halfExponent >= 0x1f) return sign | 0x7bff;
  if (halfExponent <= 0) {
    if (halfExponent < -10) return sign;
    return sign | ((mantissa | 0x800000) >>> (14 - halfExponent));
  }
  return sign | (halfExponent << 10) | (mantissa >>> 13);
}

/** Next float16 below (toward −∞); −∞ stays. */
function halfStepDown(bits: number): number {
  if (bits === 0x0000) return 0x8001;
  if (bits & 0x8000) return bits === 0xfc00 ? bits : bits + 1;
  return bits - 1;
}

/** Next float16 above (toward +∞); +∞ stays. */
function halfStepUp(bits: number): number {
  if (bits === 0x8000) return 0x0001;
  if (bits & 0x8000) return bits - 1;
  return bits === 0x7c00 ? bits : bits + 1;
}

/** Largest float16 ≤ value (bits). */
export function float16RoundDown(value: number): number {
  const table = halfValues();
  let bits = halfTowardZero(value);
  while (table[bits] > value) bits = halfStepDown(bits);
  return bits;
}

/** Smallest float16 ≥ value (bits). */
export function float16RoundUp(value: number): number {
  const table = halfValues();
  let bits = halfTowardZero(value);
  while (table[bits] < value) bits = halfStepUp(bits);
  return bits;
}

/** Value of float16 bits. */
export function float16Value(bits: number): number {
  return halfValues()[bits & 0xffff];
}

// ------------------------------------------------------------------ encode / decode

/**
 * Stores the box [keyMin, keyMax] (headDim each; an empty box has min > max) into `out`
 * (keyDigestByteLength bytes), rounding outward.
 */
export function encodeKeyDigest(format: KeyDigestFormat, keyMin: Float32Array, keyMax: Float32Array, headDim: number, out: Uint8Array): void {
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  switch (format) {
    case "fp32":
      for (let i = 0; i < headDim; i++) {
        view.setFloat32(i * 4, keyMin[i], true);
        view.setFloat32((headDim + i) * 4, keyMax[i], true);
      }
      return;
    case "fp16":
      for (let i = 0; i < headDim; i++) {
        view.setUint16(i * 2, float16RoundDown(keyMin[i]), true);
        view.setUint16((headDim + i) * 2, float16RoundUp(keyMax[i]), true);
      }
      return;
    case "int8":
      encodeAffineDigest(keyMin, keyMax, headDim, view);
      return;
  }
}

/** Decodes a stored digest into keyMin / keyMax (headDim each). */
export function decodeKeyDigest(format: KeyDigestFormat, digest: Uint8Array, headDim: number, keyMin: Float32Array, keyMax: Float32Array): void {
  switch (format) {
    case "fp32": {
      const view = new DataView(digest.buffer, digest.byteOffset, digest.byteLength);
      for (let i = 0; i < headDim; i++) {
        keyMin[i] = view.getFloat32(i * 4, true);
        keyMax[i] = view.getFloat32((headDim + i) * 4, true);
      }
      return;
    }
    case "fp16": {
      // Little-endian float16 bits read byte by byte (policies decode every page each step).
      const table = halfValues();
      const maxBase = headDim * 2;
      for (let i = 0; i < headDim; i++) {
        keyMin[i] = table[digest[i * 2] | (digest[i * 2 + 1] << 8)];
        keyMax[i] = table[digest[maxBase + i * 2] | (digest[maxBase + i * 2 + 1] << 8)];
      }
      return;
    }
    case "int8": {
      const view = new DataView(digest.buffer, digest.byteOffset, 8);
      const offset = view.getFloat32(0, true);
      const step = view.getFloat32(4, true);
      if (!Number.isFinite(offset)) {
        // Empty box (no live keys): bound −∞.
        keyMin.fill(Infinity, 0, headDim);
        keyMax.fill(-Infinity, 0, headDim);
        return;
      }
      for (let i = 0; i < headDim; i++) {
        keyMin[i] = affineValue(offset, step, digest[8 + i]);
        keyMax[i] = affineValue(offset, step, digest[8 + headDim + i]);
      }
      return;
    }
  }
}

/** One grid point; the encoder checks its codes with this same function. */
function affineValue(offset: number, step: number, code: number): number {
  return Math.fround(offset + code * step);
}

/** Layout: offset (float32), step (float32), headDim min codes, headDim max codes. */
function encodeAffineDigest(keyMin: Float32Array, keyMax: Float32Array, headDim: number, view: DataView): void {
  let low = Infinity;
  let high = -Infinity;
  let empty = false;
  for (let i = 0; i < headDim; i++) {
    if (keyMin[i] > keyMax[i]) empty = true;
    if (keyMin[i] < low) low = keyMin[i];
    if (keyMax[i] > high) high = keyMax[i];
  }
  if (empty || !Number.isFinite(low) || !Number.isFinite(high)) {
    if (!empty) throw new CacheConfigurationError("int8 key digest: keys must be finite");
    view.setFloat32(0, Infinity, true);
    view.setFloat32(4, 0, true);
    for (let i = 8; i < view.byteLength; i++) view.setUint8(i, 0);
    return;
  }
  // The grid spans [low, high]: grow the step until its last point reaches `high` in float32.
  let step = Math.fround((high - low) / 255);
  while (affineValue(low, step, 255) < high) step = Math.fround(step + Math.max(step * 2 ** -20, 2 ** -149));
  for (let i = 0; i < headDim; i++) {
    let lower = step > 0 ? Math.min(255, Math.max(0, Math.floor((keyMin[i] - low) / step))) : 0;
    while (lower > 0 && affineValue(low, step, lower) > keyMin[i]) lower -= 1;
    let upper = step > 0 ? Math.min(255, Math.max(0, Math.ceil((keyMax[i] - low) / step))) : 0;
    while (upper < 255 && affineValue(low, step, upper) < keyMax[i]) upper += 1;
    view.setUint8(8 + i, lower);
    view.setUint8(8 + headDim + i, upper);
  }
  view.setFloat32(0, low, true);
  view.setFloat32(4, step, true);
}
