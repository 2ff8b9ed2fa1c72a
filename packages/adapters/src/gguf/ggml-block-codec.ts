import { float16BitsToNumber, numberToFloat16Bits } from "../model/half-float.js";

/** One ggml block format: how many values a block holds, its byte size, and its reference (de)quantizer. */
export interface GgmlBlockCodec {
  readonly blockSize: number;
  readonly blockBytes: number;
  /** llama.cpp's quantize_row_*_ref: `values.length` must be a multiple of `blockSize`. */
  quantize(values: Float32Array): Uint8Array;
  /** dequantize_row_*: decodes `count` values from the blocks at `offset` of `bytes` into `out` at `outOffset`. */
  dequantize(bytes: Uint8Array, offset: number, count: number, out: Float32Array, outOffset: number): void;
}

/** The little-endian binary16 at `offset`, as a number. */
export function readHalf(bytes: Uint8Array, offset: number): number {
  return float16BitsToNumber(bytes[offset] | (bytes[offset + 1] << 8));
}

/** Stores `value` rounded to binary16 at `offset` and returns the rounded value (ggml re-reads its fp16 scales). */
export function writeHalf(bytes: Uint8Array, offset: number, value: number): number {
  const bits = numberToFloat16Bits(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >>> 8;
  return float16BitsToNumber(bits);
}
