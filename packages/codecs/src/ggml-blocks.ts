
/**
 * llama.cpp's KV cache quantization types (ggml's legacy block formats), byte for byte.
 *
 * A full block holds 32 elements (QK = 32), little-endian:
 * - q8_0: fp16 d | int8 qs[32]                          — 34 bytes, x = qs·d
 * - q4_0: fp16 d | uint8 qs[16]                         — 18 bytes, x = (nibble − 8)·d
 * - q4_1: fp16 d | fp16 m | uint8 qs[16]                — 20 bytes, x = nibble·d + m
 * - q5_0: fp16 d | uint8 qh[4] | uint8 qs[16]           — 22 bytes, x = ((nibble | high bit << 4) − 16)·d
 * Nibbles: byte j holds element j (low) and element j + 16 (high); qh bit k is the fifth bit of element k.
 *
 * Rounding follows `quantize_row_*_ref` in ggml-quants.c exactly, in float32 (`Math.fround` after every
 * operation, which equals C float arithmetic since double has more than twice float's precision).
 *
 * A row whose length is not a multiple of 32 ends in a short block of n elements (llama.cpp cannot
 * quantize such rows at all). It is the same format with QK = n: ⌈n/2⌉ nibble bytes pairing element j
 * with element j + ⌈n/2⌉, and ⌈n/8⌉ qh bytes. For n = 32 this is exactly llama.cpp's block.
 */
import type { GgmlKvType } from "./codec.js";
import { fromHalfBits, maxHalf, toHalfBits } from "./half-float.js";

export const ggmlKvTypes: readonly GgmlKvType[] = ["q8_0", "q4_0", "q4_1", "q5_0"];

/** Elements per full block (QK8_0 = QK4_0 = QK4_1 = QK5_0 = 32). */
export const ggmlBlockElements = 32;

/** Bytes of one block of `n` (1 ≤ n ≤ 32) elements. */
export function ggmlBlockBytes(type: GgmlKvType, n: number): number {
  const nibbles = (n + 1) >> 1;
  switch (type) {
    case "q8_0":
      return 2 + n;
    case "q4_0":
      return 2 + nibbles;
    case "q4_1":
      return 4 + nibbles;
    case "q5_0":
      return 2 + ((n + 7) >> 3) + nibbles;
  }
}

/** Bytes of a row of `dimension` elements: full blocks, then one short block for the remainder. */
export function ggmlRowBytes(type: GgmlKvType, dimension: number): number {
  const full = Math.floor(dimension / ggmlBlockElements);
  const rest = dimension - full * ggmlBlockElements;
  return full * ggmlBlockBytes(type, ggmlBlockElements) + (rest > 0 ? ggmlBlockBytes(type, rest) : 0);
}

const f = Math.fround;

/** C's roundf: nearest, halves away from zero (Math.round would send −2.5 to −2). */
function roundHalfAway(value: number): number {
  return value < 0 ? -Math.floor(-value + 0.5) : Math.floor(value + 0.5);
}

/** The fp16 bits of a scale or minimum; undefined when it overflows fp16 (llama.cpp would store ±Inf). */
function halfOrUndefined(value: number): number | undefined {
  return value > maxHalf || value < -maxHalf ? undefined : toHalfBits(value);
}

function writeHalf(data: Uint8Array, offset: number, bits: number): void {
  data[offset] = bits & 0xff;
  data[offset + 1] = bits >>> 8;
}

function readHalf(data: Uint8Array, offset: number): number {
  return fromHalfBits(data[offset] | (data[offset + 1] << 8));
}

/** Largest |x| and the signed value that has it (the first one on ties), as q4_0/q5_0 use. */
function signedAbsMax(x: Float32Array, start: number, n: number): number {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < n; j++) {
    const v = x[start + j];
    if (amax < Math.abs(v)) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

/**
 * Quantizes x[start .. start + n) into one block at data[offset ..]. Returns false (writing nothing
 * meaningful) when the scale or minimum overflows fp16.
 */
export function quantizeGgmlBlock(type: GgmlKvType, x: Float32Array, start: number, n: number, data: Uint8Array, offset: number): boolean {
  const half = (n + 1) >> 1;
  switch (type) {
    case "q8_0": {
      let amax = 0;
      for (let j = 0; j < n; j++) amax = Math.max(amax, Math.abs(x[start + j]));
      const d = f(amax / 127);
      const id = d ? f(1 / d) : 0;
      const bits = halfOrUndefined(d);
      if (bits === undefined) return false;
      writeHalf(data, offset, bits);
      for (let j = 0; j < n; j++) data[offset + 2 + j] = roundHalfAway(f(x[start + j] * id)) & 0xff;
      return true;
    }
    case "q4_0":
    case "q5_0": {
      const levels = type === "q4_0" ? 8 : 16;
      const d = f(signedAbsMax(x, start, n) / -levels);
      const id = d ? f(1 / d) : 0;
      const bits = halfOrUndefined(d);
      if (bits === undefined) return false;
      writeHalf(data, offset, bits);
      const top = 2 * levels - 1;
      const bias = f(levels + 0.5);
      const qs = type === "q4_0" ? offset + 2 : offset + 2 + ((n + 7) >> 3);
      if (type === "q5_0") data.fill(0, offset + 2, qs);
      for (let j = 0; j < half; j++) {
        // (int8_t)(x·id + 8.5f) truncates toward zero, then MIN(15, ·) (MIN(31, ·) for q5_0).
        const q0 = Math.min(top, Math.trunc(f(f(x[start + j] * id) + bias)));
        const q1 = j + half < n ? Math.min(top, Math.trunc(f(f(x[start + j + half] * id) + bias))) : 0;
        data[qs + j] = (q0 & 0x0f) | ((q1 & 0x0f) << 4);
        if (type === "q5_0") {
          data[offset + 2 + (j >> 3)] |= ((q0 >> 4) & 1) << (j & 7);
          if (j + half < n) data[offset + 2 + ((j + half) >> 3)] |= ((q1 >> 4) & 1) << ((j + half) & 7);
        }
      }
      return true;
    }
    case "q4_1": {
      let min = Infinity;
      let max = -Infinity;
      for (let j = 0; j < n; j++) {
        const v = x[start + j];
        if (v < min) min = v;
        if (v > max) max = v;
      }
      const d = f(f(max - min) / 15);
      const id = d ? f(1 / d) : 0;
      const dBits = halfOrUndefined(d);
      const mBits = halfOrUndefined(min);
      if (dBits === undefined || mBits === undefined) return false;
      writeHalf(data, offset, dBits);
      writeHalf(data, offset + 2, mBits);
      for (let j = 0; j < half; j++) {
        const q0 = Math.min(15, Math.trunc(f(f(f(x[start + j] - min) * id) + 0.5)));
        const q1 = j + half < n ? Math.min(15, Math.trunc(f(f(f(x[start + j + half] - min) * id) + 0.5))) : 0;
        data[offset + 4 + j] = q0 | (q1 << 4);
      }
      return true;
    }
  }
}

/** Dequantizes one block of n elements at data[offset ..] into out[outStart ..] (dequantize_row_* semantics). */
export function dequantizeGgmlBlock(type: GgmlKvType, data: Uint8Array, offset: number, n: number, out: Float32Array, outStart: number): void {
  const half = (n + 1) >> 1;
  const d = readHalf(data, offset);
  switch (type) {
    case "q8_0":
      for (let j = 0; j < n; j++) out[outStart + j] = ((data[offset + 2 + j] << 24) >> 24) * d;
      return;
    case "q4_0":
      for (let j = 0; j < half; j++) {
        const byte = data[offset + 2 + j];
        // + 0: an all-zero block has d = −0 (0/−8), and its zeros should decode as +0.
        out[outStart + j] = ((byte & 0x0f) - 8) * d + 0;
        if (j + half < n) out[outStart + j + half] = ((byte >> 4) - 8) * d + 0;
      }
      return;
    case "q4_1": {
      const m = readHalf(data, offset + 2);
      for (let j = 0; j < half; j++) {
        const byte = data[offset + 4 + j];
        // nibble·d is exact in float (4 × 11 significant bits), so one rounding, as in C.
        out[outStart + j] = (byte & 0x0f) * d + m;
        if (j + half < n) out[outStart + j + half] = (byte >> 4) * d + m;
      }
      return;
    }
    case "q5_0": {
      const qs = offset + 2 + ((n + 7) >> 3);
      for (let j = 0; j < half; j++) {
        const byte = data[qs + j];
        const high0 = (data[offset + 2 + (j >> 3)] >> (j & 7)) & 1;
        out[outStart + j] = (((byte & 0x0f) | (high0 << 4)) - 16) * d + 0;
        const k = j + half;
        if (k < n) {
          const high1 = (data[offset + 2 + (k >> 3)] >> (k & 7)) & 1;
          out[outStart + k] = (((byte >> 4) | (high1 << 4)) - 16) * d + 0;
        }
      }
      return;
    }
  }
}
