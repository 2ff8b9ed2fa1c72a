// block_q8_K (ggml-common.h): 256 int8 values with one float32 scale and 16 int16 sums of 16 (bsums,
// used by the K-quant dot products). Layout: d (f32), qs[256] (int8), bsums[16] (int16) = 292 bytes.
import type { GgmlBlockCodec } from "./ggml-block-codec.js";
import { nearestInt } from "./ggml-quant-math.js";

const f = Math.fround;

export const q8_K: GgmlBlockCodec = {
  blockSize: 256,
  blockBytes: 292,
  quantize(values) {
    const blocks = values.length / 256;
    const out = new Uint8Array(blocks * 292);
    const view = new DataView(out.buffer);
    for (let block = 0; block < blocks; block++) {
      const x = block * 256;
      const y = block * 292;
      let max = 0;
      let amax = 0;
      for (let j = 0; j < 256; j++) {
        if (Math.abs(values[x + j]) > amax) {
          amax = Math.abs(values[x + j]);
          max = values[x + j];
        }
      }
      if (!amax) continue;
      // −127/max (not −128) keeps every code in [−127, 127].
      const iscale = f(-127 / max);
      for (let j = 0; j < 256; j++) view.setInt8(y + 4 + j, Math.min(127, nearestInt(f(iscale * values[x + j]))));
      for (let j = 0; j < 16; j++) {
        let sum = 0;
        for (let i = 0; i < 16; i++) sum += view.getInt8(y + 4 + 16 * j + i);
        view.setInt16(y + 260 + 2 * j, sum, true);
      }
      view.setFloat32(y, f(1 / iscale), true);
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let block = 0; block < count / 256; block++) {
      const base = offset + block * 292;
      const d = view.getFloat32(base, true);
      const o = outOffset + block * 256;
      for (let j = 0; j < 256; j++) out[o + j] = d * ((bytes[base + 4 + j] << 24) >> 24);
    }
  },
};
