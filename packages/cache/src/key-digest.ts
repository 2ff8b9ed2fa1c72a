import { fromHalfBits, halfBitsAtLeast, halfBitsAtMost } from "@kvpack/codecs";
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
        view.setUint16(i * 2, halfBitsAtMost(keyMin[i]), true);
        view.setUint16((headDim + i) * 2, halfBitsAtLeast(keyMax[i]), true);
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
      const maxBase = headDim * 2;
      for (let i = 0; i < headDim; i++) {
        keyMin[i] = fromHalfBits(digest[i * 2] | (digest[i * 2 + 1] << 8));
        keyMax[i] = fromHalfBits(digest[maxBase + i * 2] | (digest[maxBase + i * 2 + 1] << 8));
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
