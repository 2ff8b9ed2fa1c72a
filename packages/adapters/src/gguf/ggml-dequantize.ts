import { decodeBfloat16, decodeFloat16, float16BitsToNumber } from "../model/half-float.js";
import { float32View } from "../model/bytes.js";
import { GgmlType } from "./gguf-types.js";

function half(bytes: Uint8Array, offset: number): number {
  return float16BitsToNumber(bytes[offset] | (bytes[offset + 1] << 8));
}

/** Dequantizes `count` elements of ggml type `type` stored at `offset` of `bytes` to fp32 (ggml's dequantize_row_* formulas). */
export function dequantizeGgml(type: number, bytes: Uint8Array, offset: number, count: number): Float32Array {
  switch (type) {
    case GgmlType.F32:
      return float32View(bytes, offset, count);
    case GgmlType.F16:
      return decodeFloat16(bytes, offset, count);
    case GgmlType.BF16:
      return decodeBfloat16(bytes, offset, count);
    case GgmlType.Q8_0: {
      const out = new Float32Array(count);
      for (let block = 0; block < count / 32; block++) {
        const base = offset + block * 34;
        const scale = half(bytes, base);
        for (let i = 0; i < 32; i++) out[block * 32 + i] = scale * ((bytes[base + 2 + i] << 24) >> 24);
      }
      return out;
    }
    case GgmlType.Q4_0: {
      const out = new Float32Array(count);
      for (let block = 0; block < count / 32; block++) {
        const base = offset + block * 18;
        const scale = half(bytes, base);
        // Low nibbles are elements 0–15, high nibbles 16–31, each offset by 8.
        for (let i = 0; i < 16; i++) {
          const packed = bytes[base + 2 + i];
          out[block * 32 + i] = scale * ((packed & 0x0f) - 8);
          out[block * 32 + i + 16] = scale * ((packed >> 4) - 8);
        }
      }
      return out;
    }
    case GgmlType.Q4_1: {
      const out = new Float32Array(count);
      for (let block = 0; block < count / 32; block++) {
        const base = offset + block * 20;
        const scale = half(bytes, base);
        const minimum = half(bytes, base + 2);
        for (let i = 0; i < 16; i++) {
          const packed = bytes[base + 4 + i];
          out[block * 32 + i] = scale * (packed & 0x0f) + minimum;
          out[block * 32 + i + 16] = scale * (packed >> 4) + minimum;
        }
      }
      return out;
    }
    default:
      throw new RangeError(`dequantizeGgml: unsupported ggml type ${type}`);
  }
}
