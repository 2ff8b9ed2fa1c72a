// The 32-value block formats (ggml-common.h block_q4_0 … block_q8_0) and their reference quantizers.
import { type GgmlBlockCodec, readHalf, writeHalf } from "./ggml-block-codec.js";

const f = Math.fround;

/** The signed value of largest magnitude in a block (ggml keeps its sign for the symmetric 4/5-bit scales). */
function signedAbsMax(values: Float32Array, start: number): number {
  let amax = 0;
  let max = 0;
  for (let i = 0; i < 32; i++) {
    const v = values[start + i];
    if (Math.abs(v) > amax) {
      amax = Math.abs(v);
      max = v;
    }
  }
  return max;
}

function minMax(values: Float32Array, start: number): [number, number] {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < 32; i++) {
    const v = values[start + i];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return [min, max];
}

/** block_q8_0: d (f16), qs[32] int8; d = max|x|/127, q = round(x/d) (roundf: half away from zero). */
export const q8_0: GgmlBlockCodec = {
  blockSize: 32,
  blockBytes: 34,
  quantize(values) {
    const out = new Uint8Array((values.length / 32) * 34);
    for (let block = 0; block < values.length / 32; block++) {
      let amax = 0;
      for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(values[block * 32 + i]));
      const d = f(amax / 127);
      const id = d ? f(1 / d) : 0;
      writeHalf(out, block * 34, d);
      for (let i = 0; i < 32; i++) {
        const x = f(values[block * 32 + i] * id);
        out[block * 34 + 2 + i] = (Math.sign(x) * Math.round(Math.abs(x))) & 0xff;
      }
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 32; block++) {
      const base = offset + block * 34;
      const d = readHalf(bytes, base);
      const o = outOffset + block * 32;
      for (let i = 0; i < 32; i++) out[o + i] = d * ((bytes[base + 2 + i] << 24) >> 24);
    }
  },
};

/** block_q4_0: d (f16), qs[16]; elements 0–15 in the low nibbles, 16–31 in the high, value (q − 8)·d, d = max/−8. */
export const q4_0: GgmlBlockCodec = {
  blockSize: 32,
  blockBytes: 18,
  quantize(values) {
    const out = new Uint8Array((values.length / 32) * 18);
    for (let block = 0; block < values.length / 32; block++) {
      const start = block * 32;
      const d = f(signedAbsMax(values, start) / -8);
      const id = d ? f(1 / d) : 0;
      writeHalf(out, block * 18, d);
      for (let i = 0; i < 16; i++) {
        // (int8_t)(x + 8.5f): truncation toward zero, then MIN(15, ·).
        const low = Math.min(15, Math.trunc(f(f(values[start + i] * id) + 8.5)));
        const high = Math.min(15, Math.trunc(f(f(values[start + 16 + i] * id) + 8.5)));
        out[block * 18 + 2 + i] = low | (high << 4);
      }
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 32; block++) {
      const base = offset + block * 18;
      const d = readHalf(bytes, base);
      const o = outOffset + block * 32;
      for (let i = 0; i < 16; i++) {
        const packed = bytes[base + 2 + i];
        out[o + i] = d * ((packed & 0x0f) - 8);
        out[o + 16 + i] = d * ((packed >> 4) - 8);
      }
    }
  },
};

/** block_q4_1: d (f16), m (f16), qs[16]; value q·d + m with d = (max − min)/15, m = min. */
export const q4_1: GgmlBlockCodec = {
  blockSize: 32,
  blockBytes: 20,
  quantize(values) {
    const out = new Uint8Array((values.length / 32) * 20);
    for (let block = 0; block < values.length / 32; block++) {
      const start = block * 32;
      const [min, max] = minMax(values, start);
      const d = f(f(max - min) / 15);
      const id = d ? f(1 / d) : 0;
      writeHalf(out, block * 20, d);
      writeHalf(out, block * 20 + 2, min);
      for (let i = 0; i < 16; i++) {
        const low = Math.min(15, Math.trunc(f(f(f(values[start + i] - min) * id) + 0.5)));
        const high = Math.min(15, Math.trunc(f(f(f(values[start + 16 + i] - min) * id) + 0.5)));
        out[block * 20 + 4 + i] = low | (high << 4);
      }
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 32; block++) {
      const base = offset + block * 20;
      const d = readHalf(bytes, base);
      const m = readHalf(bytes, base + 2);
      const o = outOffset + block * 32;
      for (let i = 0; i < 16; i++) {
        const packed = bytes[base + 4 + i];
        out[o + i] = d * (packed & 0x0f) + m;
        out[o + 16 + i] = d * (packed >> 4) + m;
      }
    }
  },
};

/** Splits 32 five-bit codes into nibbles (qs) and a 32-bit word of fifth bits (qh, bit j = element j). */
function packFiveBit(codes: Uint8Array, out: Uint8Array, qhAt: number, qsAt: number): void {
  let qh = 0;
  for (let i = 0; i < 16; i++) {
    out[qsAt + i] = (codes[i] & 0x0f) | ((codes[16 + i] & 0x0f) << 4);
    qh |= ((codes[i] >> 4) << i) | ((codes[16 + i] >> 4) << (i + 16));
  }
  out[qhAt] = qh & 0xff;
  out[qhAt + 1] = (qh >>> 8) & 0xff;
  out[qhAt + 2] = (qh >>> 16) & 0xff;
  out[qhAt + 3] = qh >>> 24;
}

function readQh(bytes: Uint8Array, at: number): number {
  return (bytes[at] | (bytes[at + 1] << 8) | (bytes[at + 2] << 16) | (bytes[at + 3] << 24)) >>> 0;
}

/** block_q5_0: d (f16), qh[4], qs[16]; value (q − 16)·d with d = max/−16. */
export const q5_0: GgmlBlockCodec = {
  blockSize: 32,
  blockBytes: 22,
  quantize(values) {
    const out = new Uint8Array((values.length / 32) * 22);
    const codes = new Uint8Array(32);
    for (let block = 0; block < values.length / 32; block++) {
      const start = block * 32;
      const d = f(signedAbsMax(values, start) / -16);
      const id = d ? f(1 / d) : 0;
      writeHalf(out, block * 22, d);
      for (let i = 0; i < 32; i++) codes[i] = Math.min(31, Math.trunc(f(f(values[start + i] * id) + 16.5)));
      packFiveBit(codes, out, block * 22 + 2, block * 22 + 6);
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 32; block++) {
      const base = offset + block * 22;
      const d = readHalf(bytes, base);
      const qh = readQh(bytes, base + 2);
      const o = outOffset + block * 32;
      for (let i = 0; i < 16; i++) {
        const packed = bytes[base + 6 + i];
        out[o + i] = d * (((packed & 0x0f) | (((qh >>> i) & 1) << 4)) - 16);
        out[o + 16 + i] = d * (((packed >> 4) | (((qh >>> (i + 16)) & 1) << 4)) - 16);
      }
    }
  },
};

/** block_q5_1: d (f16), m (f16), qh[4], qs[16]; value q·d + m with d = (max − min)/31. */
export const q5_1: GgmlBlockCodec = {
  blockSize: 32,
  blockBytes: 24,
  quantize(values) {
    const out = new Uint8Array((values.length / 32) * 24);
    const codes = new Uint8Array(32);
    for (let block = 0; block < values.length / 32; block++) {
      const start = block * 32;
      const [min, max] = minMax(values, start);
      const d = f(f(max - min) / 31);
      const id = d ? f(1 / d) : 0;
      writeHalf(out, block * 24, d);
      writeHalf(out, block * 24 + 2, min);
      // (uint8_t)(x + 0.5f), no clamp: x ≤ 31 + rounding by construction.
      for (let i = 0; i < 32; i++) codes[i] = Math.min(31, Math.trunc(f(f(f(values[start + i] - min) * id) + 0.5)));
      packFiveBit(codes, out, block * 24 + 4, block * 24 + 8);
    }
    return out;
  },
  dequantize(bytes, offset, count, out, outOffset) {
    for (let block = 0; block < count / 32; block++) {
      const base = offset + block * 24;
      const d = readHalf(bytes, base);
      const m = readHalf(bytes, base + 2);
      const qh = readQh(bytes, base + 4);
      const o = outOffset + block * 32;
      for (let i = 0; i < 16; i++) {
        const packed = bytes[base + 8 + i];
        out[o + i] = d * ((packed & 0x0f) | (((qh >>> i) & 1) << 4)) + m;
        out[o + 16 + i] = d * ((packed >> 4) | (((qh >>> (i + 16)) & 1) << 4)) + m;
      }
    }
  },
};
