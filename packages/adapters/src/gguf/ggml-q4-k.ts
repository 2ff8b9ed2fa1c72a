// block_q4_K (ggml-common.h): 256 values as 8 sub-blocks of 32, x ≈ d·sc·q − dmin·m with 4-bit q and
// 6-bit sc/m. Layout: d (f16), dmin (f16), scales[12], qs[128] (64-value groups: low nibbles then high) = 144 bytes.
import { type GgmlBlockCodec, readHalf } from "./ggml-block-codec.js";
import { quantizeScaleMinBlock, scaleMinK4, scaleMinScratch } from "./ggml-k-scale-min.js";

const f = Math.fround;

export const q4_K: GgmlBlockCodec = {
  blockSize: 256,
  blockBytes: 144,
  quantize(values) {
    const blocks = values.length / 256;
    const out = new Uint8Array(blocks * 144);
    const codes = new Uint8Array(256);
    const scratch = scaleMinScratch();
    for (let block = 0; block < blocks; block++) {
      const y = block * 144;
      quantizeScaleMinBlock(values, block * 256, out, y, codes, 15, -1, 20, scratch);
      for (let j = 0; j < 256; j += 64) {
        for (let l = 0; l < 32; l++) out[y + 16 + j / 2 + l] = codes[j + l] | (codes[j + l + 32] << 4);
      }
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    const min = new Uint8Array(1);
    for (let block = 0; block < count / 256; block++) {
      const base = offset + block * 144;
      const d = readHalf(bytes, base);
      const dmin = readHalf(bytes, base + 2);
      let o = outOffset + block * 256;
      for (let group = 0; group < 4; group++) {
        const q = base + 16 + 32 * group;
        const d1 = f(d * scaleMinK4(bytes, base + 4, 2 * group, min));
        const m1 = f(dmin * min[0]);
        const d2 = f(d * scaleMinK4(bytes, base + 4, 2 * group + 1, min));
        const m2 = f(dmin * min[0]);
        for (let l = 0; l < 32; l++) out[o++] = d1 * (bytes[q + l] & 0xf) - m1;
        for (let l = 0; l < 32; l++) out[o++] = d2 * (bytes[q + l] >> 4) - m2;
      }
    }
  },
};
