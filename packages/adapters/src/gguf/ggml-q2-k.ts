// block_q2_K (ggml-common.h): 256 values as 16 sub-blocks of 16, x ≈ d·sc·q − dmin·m with 2-bit q and
// 4-bit sc/m. Layout: scales[16] (sc low nibble, m high nibble), qs[64], d (f16), dmin (f16) = 84 bytes.
import { type GgmlBlockCodec, readHalf, writeHalf } from "./ggml-block-codec.js";
import { makeQkx2Quants, nearestInt } from "./ggml-quant-math.js";

const f = Math.fround;

/** Packs 256 two-bit codes: byte (j/4 + l) of each 128-value half holds codes l, l+32, l+64, l+96. */
export function packTwoBitCodes(codes: Uint8Array, out: Uint8Array, at: number): void {
  for (let j = 0; j < 256; j += 128) {
    for (let l = 0; l < 32; l++) {
      out[at + j / 4 + l] = codes[j + l] | (codes[j + l + 32] << 2) | (codes[j + l + 64] << 4) | (codes[j + l + 96] << 6);
    }
  }
}

export const q2_K: GgmlBlockCodec = {
  blockSize: 256,
  blockBytes: 84,
  quantize(values) {
    const blocks = values.length / 256;
    const out = new Uint8Array(blocks * 84);
    const codes = new Uint8Array(256);
    const work = new Uint8Array(16);
    const weights = new Float32Array(16);
    const scales = new Float32Array(16);
    const mins = new Float32Array(16);
    const minOut = new Float32Array(1);
    for (let block = 0; block < blocks; block++) {
      const x = block * 256;
      const y = block * 84;
      let maxScale = 0;
      let maxMin = 0;
      for (let j = 0; j < 16; j++) {
        for (let l = 0; l < 16; l++) weights[l] = Math.abs(values[x + 16 * j + l]);
        scales[j] = makeQkx2Quants(16, 3, values, x + 16 * j, weights, codes, 16 * j, minOut, work, -0.5, 0.1, 15, true);
        mins[j] = minOut[0];
        if (scales[j] > maxScale) maxScale = scales[j];
        if (mins[j] > maxMin) maxMin = mins[j];
      }
      if (maxScale > 0) {
        const iscale = f(15 / maxScale);
        for (let j = 0; j < 16; j++) out[y + j] = nearestInt(f(iscale * scales[j])) & 0xff;
        writeHalf(out, y + 80, f(maxScale / 15));
      } else {
        writeHalf(out, y + 80, 0);
      }
      if (maxMin > 0) {
        const iscale = f(15 / maxMin);
        for (let j = 0; j < 16; j++) out[y + j] |= (nearestInt(f(iscale * mins[j])) << 4) & 0xff;
        writeHalf(out, y + 82, f(maxMin / 15));
      } else {
        writeHalf(out, y + 82, 0);
      }
      const d = readHalf(out, y + 80);
      const dmin = readHalf(out, y + 82);
      for (let j = 0; j < 16; j++) {
        const dl = f(d * (out[y + j] & 0xf));
        if (!dl) continue;
        const ml = f(dmin * (out[y + j] >> 4));
        for (let i = 0; i < 16; i++) codes[16 * j + i] = Math.max(0, Math.min(3, nearestInt(f(f(values[x + 16 * j + i] + ml) / dl))));
      }
      packTwoBitCodes(codes, out, y + 16);
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 256; block++) {
      const base = offset + block * 84;
      const d = readHalf(bytes, base + 80);
      const dmin = readHalf(bytes, base + 82);
      let o = outOffset + block * 256;
      let scale = 0;
      for (let half = 0; half < 2; half++) {
        const q = base + 16 + half * 32;
        for (let shift = 0; shift < 8; shift += 2) {
          for (let part = 0; part < 2; part++) {
            const sc = bytes[base + scale++];
            const dl = f(d * (sc & 0xf));
            const ml = f(dmin * (sc >> 4));
            for (let l = 0; l < 16; l++) out[o++] = dl * ((bytes[q + 16 * part + l] >> shift) & 3) - ml;
          }
        }
      }
    }
  },
};
