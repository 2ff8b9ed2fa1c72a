// Reading the K-quant super-blocks quantizedMatmul multiplies (ggml-common.h layouts, decoded as
// llama.cpp's dequantize_row_q4_K / dequantize_row_q6_K do): integer codes and the float scale (and
// minimum) of each sub-block, for the ts oracle and for tests that dequantize to fp32.
import { halfToNumber } from "./quantized-matmul-reference.js";

/** A decoded super-block of 256 values: value i = scale[sub-block of i] · codes[i] − minimum[sub-block of i]. */
export interface KQuantSuperBlock {
  readonly codes: Int8Array;
  /** Per sub-block (Q4_K: 8 of 32 values; Q6_K: 16 of 16): d·sc. */
  readonly scales: Float64Array;
  /** Per sub-block: dmin·m (Q4_K); zeros for Q6_K. */
  readonly minimums: Float64Array;
  /** Values per sub-block: 32 (Q4_K) or 16 (Q6_K). */
  readonly subBlockSize: number;
}

/** get_scale_min_k4: the 6-bit scale and min of sub-block j from the 12 packed bytes at `at`. */
function scaleMinK4(bytes: Uint8Array, at: number, j: number): [number, number] {
  if (j < 4) return [bytes[at + j] & 63, bytes[at + j + 4] & 63];
  return [(bytes[at + j + 4] & 0xf) | ((bytes[at + j - 4] >> 6) << 4), (bytes[at + j + 4] >> 4) | ((bytes[at + j] >> 6) << 4)];
}

/** block_q4_K at `at` (144 bytes: fp16 d, fp16 dmin, scales[12], qs[128]). */
export function decodeQ4_K(bytes: Uint8Array, at: number): KQuantSuperBlock {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d = halfToNumber(view.getUint16(at, true));
  const dmin = halfToNumber(view.getUint16(at + 2, true));
  const codes = new Int8Array(256);
  const scales = new Float64Array(8);
  const minimums = new Float64Array(8);
  for (let j = 0; j < 8; j++) {
    const [scale, min] = scaleMinK4(bytes, at + 4, j);
    scales[j] = d * scale;
    minimums[j] = dmin * min;
    // Sub-blocks 2g and 2g + 1 are the low and high nibbles of the same 32 bytes.
    const q = at + 16 + 32 * (j >> 1);
    for (let l = 0; l < 32; l++) codes[32 * j + l] = j & 1 ? bytes[q + l] >> 4 : bytes[q + l] & 0xf;
  }
  return { codes, scales, minimums, subBlockSize: 32 };
}

/** block_q6_K at `at` (210 bytes: ql[128], qh[64], scales[16] as i8, fp16 d). */
export function decodeQ6_K(bytes: Uint8Array, at: number): KQuantSuperBlock {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const d = halfToNumber(view.getUint16(at + 208, true));
  const codes = new Int8Array(256);
  const scales = new Float64Array(16);
  for (let i = 0; i < 16; i++) scales[i] = d * view.getInt8(at + 192 + i);
  for (let half = 0; half < 2; half++) {
    const ql = at + 64 * half;
    const qh = at + 128 + 32 * half;
    for (let l = 0; l < 32; l++) {
      const h = bytes[qh + l];
      const o = 128 * half + l;
      codes[o] = ((bytes[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
      codes[o + 32] = ((bytes[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
      codes[o + 64] = ((bytes[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
      codes[o + 96] = ((bytes[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
    }
  }
  return { codes, scales, minimums: new Float64Array(16), subBlockSize: 16 };
}

/** The super-block decoder of a K-quant format. */
export function decodeKQuant(format: "q4_k" | "q6_k", bytes: Uint8Array, at: number): KQuantSuperBlock {
  return format === "q4_k" ? decodeQ4_K(bytes, at) : decodeQ6_K(bytes, at);
}
