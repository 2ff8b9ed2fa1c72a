// block_q5_K (ggml-common.h): like q4_K with a fifth bit per value. Layout: d (f16), dmin (f16),
// scales[12], qh[32] (bit 2g / 2g+1 of qh[l]: value l / l+32 of 64-value group g), qs[128] = 176 bytes.
import { type GgmlBlockCodec, readHalf } from "./ggml-block-codec.js";
import { quantizeScaleMinBlock, scaleMinK4, scaleMinScratch } from "./ggml-k-scale-min.js";

const f = Math.fround;

export const q5_K: GgmlBlockCodec = {
  blockSize: 256,
  blockBytes: 176,
  quantize(values) {
    const blocks = values.length / 256;
    const out = new Uint8Array(blocks * 176);
    const codes = new Uint8Array(256);
    const scratch = scaleMinScratch();
    for (let block = 0; block < blocks; block++) {
      const y = block * 176;
      quantizeScaleMinBlock(values, block * 256, out, y, codes, 31, -0.5, 15, scratch);
      for (let group = 0; group < 4; group++) {
        for (let j = 0; j < 32; j++) {
          const l1 = codes[64 * group + j];
          const l2 = codes[64 * group + j + 32];
          out[y + 16 + j] |= ((l1 >> 4) << (2 * group)) | ((l2 >> 4) << (2 * group + 1));
          out[y + 48 + 32 * group + j] = (l1 & 0xf) | ((l2 & 0xf) << 4);
        }
      }
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    const min = new Uint8Array(1);
    for (let block = 0; block < count / 256; block++) {
      const base = offset + block * 176;
      const d = readHalf(bytes, base);
      const dmin = readHalf(bytes, base + 2);
      let o = outOffset + block * 256;
      for (let group = 0; group < 4; group++) {
        const ql = base + 48 + 32 * group;
        const qh = base + 16;
        const d1 = f(d * scaleMinK4(bytes, base + 4, 2 * group, min));
        const m1 = f(dmin * min[0]);
        const d2 = f(d * scaleMinK4(bytes, base + 4, 2 * group + 1, min));
        const m2 = f(dmin * min[0]);
        for (let l = 0; l < 32; l++) out[o++] = d1 * ((bytes[ql + l] & 0xf) + (((bytes[qh + l] >> (2 * group)) & 1) << 4)) - m1;
        for (let l = 0; l < 32; l++) out[o++] = d2 * ((bytes[ql + l] >> 4) + (((bytes[qh + l] >> (2 * group + 1)) & 1) << 4)) - m2;
      }
    }
  },
};
