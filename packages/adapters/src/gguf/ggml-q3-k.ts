// block_q3_K (ggml-common.h): 256 values as 16 sub-blocks of 16, x ≈ d·(sc − 32)·(q − 4) with 3-bit q
// (2 low bits in qs, the third in hmask) and 6-bit sc. Layout: hmask[32], qs[64], scales[12], d (f16) = 110 bytes.
import { type GgmlBlockCodec, readHalf, writeHalf } from "./ggml-block-codec.js";
import { packTwoBitCodes } from "./ggml-q2-k.js";
import { makeQ3Quants, nearestInt } from "./ggml-quant-math.js";

const f = Math.fround;

/** The 6-bit scale j (0–15) of a q3_K block: low 4 bits in bytes 0–7 (two per byte), high 2 bits in bytes 8–11. */
function scale6(bytes: Uint8Array, scalesAt: number, j: number): number {
  const low = j < 8 ? bytes[scalesAt + j] & 0xf : bytes[scalesAt + j - 8] >> 4;
  const high = (bytes[scalesAt + 8 + (j % 4)] >> (2 * (j >> 2))) & 3;
  return low | (high << 4);
}

export const q3_K: GgmlBlockCodec = {
  blockSize: 256,
  blockBytes: 110,
  quantize(values) {
    const blocks = values.length / 256;
    const out = new Uint8Array(blocks * 110);
    const codes = new Uint8Array(256);
    const work = new Int8Array(16);
    const scales = new Float32Array(16);
    for (let block = 0; block < blocks; block++) {
      const x = block * 256;
      const y = block * 110;
      let maxScale = 0;
      let amax = 0;
      for (let j = 0; j < 16; j++) {
        scales[j] = makeQ3Quants(16, 4, values, x + 16 * j, codes, 16 * j, work);
        if (Math.abs(scales[j]) > amax) {
          amax = Math.abs(scales[j]);
          maxScale = scales[j];
        }
      }
      if (maxScale) {
        const iscale = f(-32 / maxScale);
        for (let j = 0; j < 16; j++) {
          // int8_t l = nearest_int(…), clamped to [−32, 31], then offset to [0, 63].
          const l = Math.max(-32, Math.min(31, (nearestInt(f(iscale * scales[j])) << 24) >> 24)) + 32;
          if (j < 8) out[y + 96 + j] = l & 0xf;
          else out[y + 96 + j - 8] |= (l & 0xf) << 4;
          out[y + 96 + 8 + (j % 4)] |= (l >> 4) << (2 * (j >> 2));
        }
        writeHalf(out, y + 108, f(1 / iscale));
      } else {
        writeHalf(out, y + 108, 0);
      }
      const d = readHalf(out, y + 108);
      for (let j = 0; j < 16; j++) {
        const dl = f(d * (scale6(out, y + 96, j) - 32));
        if (!dl) continue;
        for (let i = 0; i < 16; i++) codes[16 * j + i] = Math.max(-4, Math.min(3, nearestInt(f(values[x + 16 * j + i] / dl)))) + 4;
      }
      // The high bit of code e goes to bit e/32 of hmask[e % 32].
      for (let e = 0; e < 256; e++) {
        if (codes[e] > 3) {
          out[y + (e % 32)] |= 1 << (e >> 5);
          codes[e] -= 4;
        }
      }
      packTwoBitCodes(codes, out, y + 32);
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 256; block++) {
      const base = offset + block * 110;
      const d = readHalf(bytes, base + 108);
      let o = outOffset + block * 256;
      let scale = 0;
      let bit = 0;
      for (let half = 0; half < 2; half++) {
        const q = base + 32 + half * 32;
        for (let shift = 0; shift < 8; shift += 2, bit++) {
          for (let part = 0; part < 2; part++) {
            const dl = f(d * (scale6(bytes, base + 96, scale++) - 32));
            for (let l = 0; l < 16; l++) {
              const at = 16 * part + l;
              const high = (bytes[base + at] >> bit) & 1 ? 0 : 4;
              out[o++] = dl * (((bytes[q + at] >> shift) & 3) - high);
            }
          }
        }
      }
    }
  },
};
