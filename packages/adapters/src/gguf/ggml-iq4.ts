// IQ4_NL and IQ4_XS (ggml-common.h): 4-bit indices into the non-linear table kvalues_iq4nl.
// block_iq4_nl: d (f16), qs[16] = 18 bytes per 32 values. block_iq4_xs: d (f16), scales_h (u16),
// scales_l[4], qs[128] = 136 bytes per 256 values, with a 6-bit scale (ls − 32) per sub-block of 32.
import { type GgmlBlockCodec, readHalf, writeHalf } from "./ggml-block-codec.js";
import { bestIndexInt8, nearestInt } from "./ggml-quant-math.js";

const f = Math.fround;

/** kvalues_iq4nl (ggml-common.h). */
export const iq4nlValues = Int8Array.of(-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113);

/**
 * quantize_row_iq4_nl_impl without importance weights (weights x²), ntry 7: per sub-block of 32,
 * the least-squares scale over 15 trial scales; for a super-block of 256 (IQ4_XS) the sub-block
 * scales become 6-bit multiples of d = −max/32 and the indices are re-chosen for them. Writes the
 * indices to `codes` and the sub-block scales to `scales`; returns the fp32 block scale to store.
 */
function quantizeIq4(values: Float32Array, x: number, size: number, codes: Uint8Array, scales: Float32Array, scaleCodes: Uint8Array): number {
  let maxScale = 0;
  let amaxScale = 0;
  for (let ib = 0; ib < size / 32; ib++) {
    const xb = x + 32 * ib;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < 32; j++) {
      if (Math.abs(values[xb + j]) > amax) {
        amax = Math.abs(values[xb + j]);
        max = values[xb + j];
      }
    }
    if (amax < 1e-15) {
      scales[ib] = 0;
      continue;
    }
    let d = f(-max / iq4nlValues[0]);
    let id = f(1 / d);
    let sumqx = 0;
    let sumq2 = 0;
    for (let j = 0; j < 32; j++) {
      const v = values[xb + j];
      const l = bestIndexInt8(iq4nlValues, f(id * v));
      codes[32 * ib + j] = l;
      const q = iq4nlValues[l];
      const w = f(v * v);
      sumqx = f(sumqx + f(f(w * q) * v));
      sumq2 = f(sumq2 + f(f(w * q) * q));
    }
    d = f(sumqx / sumq2);
    let best = f(d * sumqx);
    for (let trial = -7; trial <= 7; trial++) {
      id = f((trial + iq4nlValues[0]) / max);
      sumqx = 0;
      sumq2 = 0;
      for (let j = 0; j < 32; j++) {
        const v = values[xb + j];
        const q = iq4nlValues[bestIndexInt8(iq4nlValues, f(id * v))];
        const w = f(v * v);
        sumqx = f(sumqx + f(f(w * q) * v));
        sumq2 = f(sumq2 + f(f(w * q) * q));
      }
      if (sumq2 > 0 && f(sumqx * sumqx) > f(best * sumq2)) {
        d = f(sumqx / sumq2);
        best = f(d * sumqx);
      }
    }
    scales[ib] = d;
    if (Math.abs(d) > amaxScale) {
      amaxScale = Math.abs(d);
      maxScale = d;
    }
  }
  if (size === 32) {
    const id = scales[0] ? f(1 / scales[0]) : 0;
    for (let j = 0; j < 32; j++) codes[j] = bestIndexInt8(iq4nlValues, f(id * values[x + j]));
    return scales[0];
  }
  const d = f(-maxScale / 32);
  const id = d ? f(1 / d) : 0;
  for (let ib = 0; ib < size / 32; ib++) {
    const l = Math.max(-32, Math.min(31, nearestInt(f(id * scales[ib]))));
    const dl = f(d * l);
    const idl = dl ? f(1 / dl) : 0;
    for (let j = 0; j < 32; j++) codes[32 * ib + j] = bestIndexInt8(iq4nlValues, f(idl * values[x + 32 * ib + j]));
    scaleCodes[ib] = l + 32;
  }
  return d;
}

/** Packs 32 indices per sub-block: byte j holds index j (low nibble) and index j + 16 (high nibble). */
function packIndices(codes: Uint8Array, count: number, out: Uint8Array, at: number): void {
  for (let i = 0; i < count / 32; i++) {
    for (let j = 0; j < 16; j++) out[at + 16 * i + j] = codes[32 * i + j] | (codes[32 * i + 16 + j] << 4);
  }
}

export const iq4_nl: GgmlBlockCodec = {
  blockSize: 32,
  blockBytes: 18,
  quantize(values) {
    const out = new Uint8Array((values.length / 32) * 18);
    const codes = new Uint8Array(32);
    const scales = new Float32Array(1);
    const scaleCodes = new Uint8Array(1);
    for (let block = 0; block < values.length / 32; block++) {
      writeHalf(out, block * 18, quantizeIq4(values, block * 32, 32, codes, scales, scaleCodes));
      packIndices(codes, 32, out, block * 18 + 2);
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 32; block++) {
      const base = offset + block * 18;
      const d = readHalf(bytes, base);
      const o = outOffset + block * 32;
      for (let j = 0; j < 16; j++) {
        out[o + j] = d * iq4nlValues[bytes[base + 2 + j] & 0xf];
        out[o + j + 16] = d * iq4nlValues[bytes[base + 2 + j] >> 4];
      }
    }
  },
};

export const iq4_xs: GgmlBlockCodec = {
  blockSize: 256,
  blockBytes: 136,
  quantize(values) {
    const out = new Uint8Array((values.length / 256) * 136);
    const codes = new Uint8Array(256);
    const scales = new Float32Array(8);
    const scaleCodes = new Uint8Array(8);
    for (let block = 0; block < values.length / 256; block++) {
      const y = block * 136;
      scaleCodes.fill(32); // an all-zero sub-block keeps scale code 32, i.e. (32 − 32)·d = 0
      const d = quantizeIq4(values, block * 256, 256, codes, scales, scaleCodes);
      writeHalf(out, y, d);
      let high = 0;
      for (let ib = 0; ib < 8; ib++) {
        out[y + 4 + (ib >> 1)] |= (scaleCodes[ib] & 0xf) << (4 * (ib & 1));
        high |= (scaleCodes[ib] >> 4) << (2 * ib);
      }
      out[y + 2] = high & 0xff;
      out[y + 3] = high >>> 8;
      packIndices(codes, 256, out, y + 8);
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 256; block++) {
      const base = offset + block * 136;
      const d = readHalf(bytes, base);
      const high = bytes[base + 2] | (bytes[base + 3] << 8);
      for (let ib = 0; ib < 8; ib++) {
        const ls = ((bytes[base + 4 + (ib >> 1)] >> (4 * (ib & 1))) & 0xf) | (((high >> (2 * ib)) & 3) << 4);
        const dl = f(d * (ls - 32));
        const qs = base + 8 + 16 * ib;
        const o = outOffset + block * 256 + 32 * ib;
        for (let j = 0; j < 16; j++) {
          out[o + j] = dl * iq4nlValues[bytes[qs + j] & 0xf];
          out[o + j + 16] = dl * iq4nlValues[bytes[qs + j] >> 4];
        }
      }
    }
  },
};
