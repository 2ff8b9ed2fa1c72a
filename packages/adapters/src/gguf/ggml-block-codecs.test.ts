import { describe, expect, it } from "vitest";
import { ggmlBlockCodecs } from "./ggml-block-codecs.js";
import { dequantizeGgml } from "./ggml-dequantize.js";
import { iq4nlValues } from "./ggml-iq4.js";
import { GgmlType, type GgmlTypeName, ggmlTypeLayout } from "./gguf-types.js";
import { quantizeGgml } from "./gguf-writer.js";

/** Deterministic N(0, 1) samples (xorshift32 + Box–Muller). */
function gaussian(count: number, seed: number): Float32Array {
  let state = seed >>> 0 || 1;
  const next = (): number => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) + 0.5) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

function rms(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += (a[i] - b[i]) ** 2;
  return Math.sqrt(sum / a.length);
}

// Code bits per value of each format (ggml-common.h): the tolerance below is derived from them.
const bits: Record<string, number> = { Q2_K: 2, Q3_K: 3, Q4_0: 4, Q4_1: 4, Q4_K: 4, IQ4_NL: 4, IQ4_XS: 4, Q5_0: 5, Q5_1: 5, Q5_K: 5, Q6_K: 6, Q8_0: 8, Q8_K: 8 };
// Bytes per block from the ggml-common.h structs (QK_K = 256): e.g. block_q4_K = 2 + 2 + 12 + 128.
const blockBytes: Record<string, [number, number]> = {
  Q4_0: [32, 2 + 16], Q4_1: [32, 2 + 2 + 16], Q5_0: [32, 2 + 4 + 16], Q5_1: [32, 2 + 2 + 4 + 16], Q8_0: [32, 2 + 32],
  Q2_K: [256, 16 + 64 + 2 + 2], Q3_K: [256, 32 + 64 + 12 + 2], Q4_K: [256, 2 + 2 + 12 + 128], Q5_K: [256, 2 + 2 + 12 + 32 + 128],
  Q6_K: [256, 128 + 64 + 16 + 2], Q8_K: [256, 4 + 256 + 32], IQ4_NL: [32, 2 + 16], IQ4_XS: [256, 2 + 2 + 4 + 128],
};

describe("ggml block codecs", () => {
  const types = Object.keys(ggmlBlockCodecs) as GgmlTypeName[];

  it.each(types)("%s: block layout matches the ggml-common.h struct and the output is whole blocks", (type) => {
    const codec = ggmlBlockCodecs[type]!;
    expect([codec.blockSize, codec.blockBytes]).toEqual(blockBytes[type]);
    expect(ggmlTypeLayout[GgmlType[type]]).toMatchObject({ blockSize: codec.blockSize, blockBytes: codec.blockBytes });
    expect(quantizeGgml(type, gaussian(1024, 7)).length).toBe((1024 / codec.blockSize) * codec.blockBytes);
    expect(() => quantizeGgml(type, new Float32Array(codec.blockSize + 16))).toThrow(RangeError);
  });

  it.each(types)("%s: N(0,1) round trip error is within the uniform-quantizer bound for its bits", (type) => {
    const values = gaussian(8192, 12345);
    const decoded = dequantizeGgml(GgmlType[type], quantizeGgml(type, values), 0, values.length);
    // A b-bit uniform quantizer over a block's range (≤ ±4σ for blocks of ≤ 256 normal samples, 8σ wide)
    // has step 8σ/(2^b − 1) and RMS error step/√12; the reference quantizers' searched scales do better,
    // so that is an upper bound (measured: roughly 0.4× to 0.8× of it).
    const bound = 8 / (2 ** bits[type] - 1) / Math.sqrt(12);
    const error = rms(values, decoded);
    expect(error).toBeLessThan(bound);
    // …and not trivially zero: the format really drops bits (half the bound of 2 more bits, a safe floor).
    expect(error).toBeGreaterThan((8 / (2 ** (bits[type] + 2) - 1) / Math.sqrt(12)) * 0.5);
  });

  it.each(types)("%s: an all-zero block decodes to zeros", (type) => {
    const zeros = new Float32Array(256);
    expect(Array.from(dequantizeGgml(GgmlType[type], quantizeGgml(type, zeros), 0, 256)).every((v) => v === 0)).toBe(true);
  });

  it("Q8_0: values on the grid d·q (d = max/127, exact in fp16) come back exactly", () => {
    // d = 1/64 is exact in fp16, so every q/64 with |q| ≤ 127 round-trips exactly.
    const values = Float32Array.from({ length: 32 }, (_, i) => (i === 0 ? 127 : (i * 37) % 255 - 127) / 64);
    expect(Array.from(dequantizeGgml(GgmlType.Q8_0, quantizeGgml("Q8_0", values), 0, 32))).toEqual(Array.from(values));
  });

  it("Q5_0: the 5th bit of element j is bit j of qh (little-endian u32)", () => {
    // d = 1 (fp16 0x3c00); element j = 31 - 16 = 15 only where bit j of qh is set and the nibble is 15.
    const block = new Uint8Array(22);
    block[1] = 0x3c;
    block[2 + 2] = 0x01; // qh bit 16 → element 16
    block[6] = 0xf0; // high nibble of byte 0 → element 16 = 15 | 16 = 31 → 31 − 16 = 15
    const decoded = dequantizeGgml(GgmlType.Q5_0, block, 0, 32);
    expect(decoded[16]).toBe(15);
    expect(decoded[0]).toBe(-16); // nibble 0, no high bit: 0 − 16
  });

  it("Q4_K: a hand-built block decodes to d·sc·q − dmin·m with get_scale_min_k4's 6-bit packing", () => {
    const block = new Uint8Array(144);
    block[1] = 0x3c; // d = 1
    block[3] = 0x38; // dmin = 0.5
    block[4 + 0] = 2; // sub-block 0: sc = 2
    block[4 + 4] = 3; // sub-block 0: m = 3
    block[4 + 8] = 0x21; // sub-block 4: sc low nibble 1, m low nibble 2
    block[4 + 0] |= 1 << 6; // sub-block 4: sc high bits 1 → sc = 1 | 16 = 17
    block[16] = 0x57; // value 0: q 7 (low nibble, sub-block 0); value 32: q 5 (high nibble, sub-block 1)
    block[16 + 64] = 0x03; // value 128: q 3 in sub-block 4
    const decoded = dequantizeGgml(GgmlType.Q4_K, block, 0, 256);
    expect(decoded[0]).toBe(1 * 2 * 7 - 0.5 * 3);
    expect(decoded[32]).toBe(0); // sub-block 1 has sc = 0 and m = 0
    expect(decoded[128]).toBe(1 * 17 * 3 - 0.5 * 2);
  });

  it("Q6_K: a hand-built block decodes to d·sc·(q − 32) with ql/qh bit positions", () => {
    const block = new Uint8Array(210);
    block[209] = 0x3c; // d = 1
    block[192] = 3; // scale of values 0–15
    block[192 + 6] = 0xfe; // scale −2 of values 96–111
    block[0] = 0x0a; // value 0: low 4 bits 10
    block[128] = 0x02 | (0x03 << 6); // value 0: high bits 2 → q = 10 | 32 = 42; value 96: high bits 3
    block[32] = 0x10; // value 96: low 4 bits 1 (high nibble of ql[32]) → q = 1 | 48 = 49
    const decoded = dequantizeGgml(GgmlType.Q6_K, block, 0, 256);
    expect(decoded[0]).toBe(3 * (42 - 32));
    expect(decoded[96]).toBe(-2 * (49 - 32));
  });

  it("IQ4_XS: a hand-built block decodes to d·(ls − 32)·kvalues_iq4nl[index]", () => {
    const block = new Uint8Array(136);
    block[1] = 0x3c; // d = 1
    block[4] = 0x01 | (0x0f << 4); // sub-block 0: ls low 1, sub-block 1: ls low 15
    block[2] = 0x02 | (0x03 << 2); // sub-block 0: ls high 2 → 33; sub-block 1: ls high 3 → 63
    block[8] = 0x0f; // value 0: index 15
    block[8 + 16] = 0x20; // sub-block 1 value 16: index 2
    const decoded = dequantizeGgml(GgmlType.IQ4_XS, block, 0, 256);
    expect(decoded[0]).toBe((33 - 32) * 113);
    expect(decoded[32 + 16]).toBe((63 - 32) * iq4nlValues[2]);
    expect(decoded[1]).toBe((33 - 32) * iq4nlValues[0]);
  });

  it("Q8_K: bsums hold the sums of each 16 codes", () => {
    const bytes = quantizeGgml("Q8_K", gaussian(256, 3));
    const view = new DataView(bytes.buffer);
    for (let j = 0; j < 16; j++) {
      let sum = 0;
      for (let i = 0; i < 16; i++) sum += view.getInt8(4 + 16 * j + i);
      expect(view.getInt16(260 + 2 * j, true)).toBe(sum);
    }
  });
});
