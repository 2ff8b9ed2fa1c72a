// block_q6_K (ggml-common.h): 256 values as 16 sub-blocks of 16, x ≈ d·sc·(q − 32) with 6-bit q (low
// 4 bits in ql, high 2 in qh) and int8 sc. Layout: ql[128], qh[64], scales[16] (int8), d (f16) = 210 bytes.
import { type GgmlBlockCodec, readHalf, writeHalf } from "./ggml-block-codec.js";
import { makeQxQuants, nearestInt } from "./ggml-quant-math.js";

const f = Math.fround;

export const q6_K: GgmlBlockCodec = {
  blockSize: 256,
  blockBytes: 210,
  quantize(values) {
    const blocks = values.length / 256;
    const out = new Uint8Array(blocks * 210);
    const codes = new Uint8Array(256);
    const scales = new Float32Array(16);
    for (let block = 0; block < blocks; block++) {
      const x = block * 256;
      const y = block * 210;
      let maxScale = 0;
      let maxAbsScale = 0;
      for (let j = 0; j < 16; j++) {
        scales[j] = makeQxQuants(16, 32, values, x + 16 * j, codes, 16 * j);
        if (Math.abs(scales[j]) > maxAbsScale) {
          maxAbsScale = Math.abs(scales[j]);
          maxScale = scales[j];
        }
      }
      if (maxAbsScale < 1e-15) continue; // an all-zero block stays all zero bytes
      const iscale = f(-128 / maxScale);
      const d = writeHalf(out, y + 208, f(1 / iscale));
      for (let j = 0; j < 16; j++) out[y + 192 + j] = Math.min(127, nearestInt(f(iscale * scales[j]))) & 0xff;
      for (let j = 0; j < 16; j++) {
        const dl = f(d * ((out[y + 192 + j] << 24) >> 24));
        if (!dl) continue;
        for (let i = 0; i < 16; i++) codes[16 * j + i] = Math.max(-32, Math.min(31, nearestInt(f(values[x + 16 * j + i] / dl)))) + 32;
      }
      for (let half = 0; half < 2; half++) {
        const c = 128 * half;
        const ql = y + 64 * half;
        const qh = y + 128 + 32 * half;
        for (let l = 0; l < 32; l++) {
          out[ql + l] = (codes[c + l] & 0xf) | ((codes[c + l + 64] & 0xf) << 4);
          out[ql + l + 32] = (codes[c + l + 32] & 0xf) | ((codes[c + l + 96] & 0xf) << 4);
          out[qh + l] = (codes[c + l] >> 4) | ((codes[c + l + 32] >> 4) << 2) | ((codes[c + l + 64] >> 4) << 4) | ((codes[c + l + 96] >> 4) << 6);
        }
      }
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 256; block++) {
      const base = offset + block * 210;
      const d = readHalf(bytes, base + 208);
      for (let half = 0; half < 2; half++) {
        const o = outOffset + block * 256 + 128 * half;
        const ql = base + 64 * half;
        const qh = base + 128 + 32 * half;
        const sc = base + 192 + 8 * half;
        for (let l = 0; l < 32; l++) {
          const s = l >> 4;
          const h = bytes[qh + l];
          const q1 = ((bytes[ql + l] & 0xf) | ((h & 3) << 4)) - 32;
          const q2 = ((bytes[ql + l + 32] & 0xf) | (((h >> 2) & 3) << 4)) - 32;
          const q3 = ((bytes[ql + l] >> 4) | (((h >> 4) & 3) << 4)) - 32;
          const q4 = ((bytes[ql + l + 32] >> 4) | (((h >> 6) & 3) << 4)) - 32;
          out[o + l] = f(d * ((bytes[sc + s] << 24) >> 24)) * q1;
          out[o + l + 32] = f(d * ((bytes[sc + s + 2] << 24) >> 24)) * q2;
          out[o + l + 64] = f(d * ((bytes[sc + s + 4] << 24) >> 24)) * q3;
          out[o + l + 96] = f(d * ((bytes[sc + s + 6] << 24) >> 24)) * q4;
        }
      }
    }
  },
};
