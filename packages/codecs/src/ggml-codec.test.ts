import { describe, expect, it } from "vitest";
import type { CodecSpec, GgmlKvType } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { createCodec } from "./create-codec.js";
import { blockHeaderBytes } from "./base-codec.js";
import { ggmlBlockBytes } from "./ggml-blocks.js";
import { fromHalfBits } from "./half-float.js";
import { gaussian, seededGenerator } from "./testing/test-vectors.js";

/** Payload bytes (after the 4-byte block header) of one row. */
function encodeRow(kind: GgmlKvType, values: number[]): number[] {
  const codec = createCodec({ kind, dimension: values.length } as CodecSpec);
  return Array.from(codec.encode(Float32Array.from(values), 1, values.length).data.subarray(blockHeaderBytes));
}

const ramp = Array.from({ length: 32 }, (_, j) => (j - 16) * 0.25); // −4, −3.75, …, 3.75

describe("ggml block layouts (hand-computed from quantize_row_*_ref in ggml-quants.c)", () => {
  it("q8_0: d = amax/127 as fp16, qs = roundf(x/d) with halves away from zero", () => {
    // amax = 127 → d = 1 (fp16 0x3c00), id = 1; roundf(2.5) = 3, roundf(−2.5) = −3, roundf(−0.6) = −1.
    const values = [127, -127, 2.5, -2.5, 0.4, -0.6, 1.5, 0, ...new Array(24).fill(0)];
    expect(encodeRow("q8_0", values)).toEqual([0x00, 0x3c, 0x7f, 0x81, 0x03, 0xfd, 0x00, 0xff, 0x02, 0x00, ...new Array(24).fill(0)]);
  });

  it("q4_0: d = max/−8 (signed absmax), nibble = min(15, trunc(x/d + 8.5)), element j low, j + 16 high", () => {
    // max = −4 → d = 0.5 (0x3800), id = 2: code(j) = trunc(j/2 + 0.5), so 0,1,1,2,2,…,8 for j < 16 and
    // code(j + 16) = code(j) + 8, except j = 31: 16 clipped to 15.
    const low = [0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8];
    const high = [...low.slice(0, 15).map((c) => c + 8), 15];
    expect(encodeRow("q4_0", ramp)).toEqual([0x00, 0x38, ...low.map((c, j) => c | (high[j] << 4))]);
    const decoded = createCodec({ kind: "q4_0", dimension: 32 }).decode(createCodec({ kind: "q4_0", dimension: 32 }).encode(Float32Array.from(ramp), 1, 32));
    expect(decoded[0]).toBe(-4); // the signed absmax is a level exactly
    expect(decoded[31]).toBe(3.5); // 3.75 needs level +8, which q4_0 lacks: (15 − 8)·0.5
  });

  it("q4_1: d = (max − min)/15, m = min, nibble = min(15, trunc((x − min)/d + 0.5))", () => {
    // x = −1 + 0.25·(j mod 16): min = −1 (0xbc00), max = 2.75, d = 0.25 (0x3400), id = 4 → code j mod 16;
    // x20 = 0.125 sits on a half step: (1.125·4) + 0.5 = 5 → code 5, so byte 4 is 4 | 5 << 4.
    const values = Array.from({ length: 32 }, (_, j) => -1 + 0.25 * (j % 16));
    values[20] = 0.125;
    const nibbles = Array.from({ length: 16 }, (_, k) => k | (k << 4));
    nibbles[4] = 0x54;
    expect(encodeRow("q4_1", values)).toEqual([0x00, 0x34, 0x00, 0xbc, ...nibbles]);
  });

  it("q5_0: d = max/−16, 5-bit codes, qh bit k = fifth bit of element k, then the low nibbles", () => {
    // max = −4 → d = 0.25 (0x3400), id = 4: code(j) = trunc(j + 0.5) = j, so qh = 0xffff0000 (elements 16..31)
    // and byte k = k | k << 4; every ramp value is a level, so it decodes exactly.
    const nibbles = Array.from({ length: 16 }, (_, k) => k | (k << 4));
    expect(encodeRow("q5_0", ramp)).toEqual([0x00, 0x34, 0x00, 0x00, 0xff, 0xff, ...nibbles]);
    const codec = createCodec({ kind: "q5_0", dimension: 32 });
    expect(Array.from(codec.decode(codec.encode(Float32Array.from(ramp), 1, 32)))).toEqual(ramp);
  });

  it("a row of 64 is two llama.cpp blocks back to back; a short tail block pairs element j with j + ⌈n/2⌉", () => {
    expect(encodeRow("q4_0", [...ramp, ...ramp])).toEqual([...encodeRow("q4_0", ramp), ...encodeRow("q4_0", ramp)]);
    // n = 8: max = −4 → d = 0.5, codes trunc(2x + 8.5) = 0, 2, 4, …, 14; byte j = code(j) | code(j + 4) << 4.
    expect(encodeRow("q4_0", [-4, -3, -2, -1, 0, 1, 2, 3])).toEqual([0x00, 0x38, 0x80, 0xa2, 0xc4, 0xe6]);
    // Bytes of a block of n: q8_0 2 + n, q4_0 2 + ⌈n/2⌉, q4_1 4 + ⌈n/2⌉, q5_0 2 + ⌈n/8⌉ + ⌈n/2⌉ (32 → 34, 18, 20, 22).
    expect([ggmlBlockBytes("q8_0", 32), ggmlBlockBytes("q4_0", 32), ggmlBlockBytes("q4_1", 32), ggmlBlockBytes("q5_0", 32)]).toEqual([34, 18, 20, 22]);
    expect(createCodec({ kind: "q4_0", dimension: 40 }).encodedByteLength(3)).toBe(4 + 3 * (18 + 2 + 4));
  });

  it("all-in bits at 128-row blocks are llama.cpp's 8.5 / 4.5 / 5 / 5.5 plus the 4-byte header", () => {
    const header = (4 * 8) / (128 * 128);
    expect(createCodec({ kind: "q8_0", dimension: 128 }).bitsPerElement(128)).toBeCloseTo(8.5 + header, 12);
    expect(createCodec({ kind: "q4_0", dimension: 128 }).bitsPerElement(128)).toBeCloseTo(4.5 + header, 12);
    expect(createCodec({ kind: "q4_1", dimension: 128 }).bitsPerElement(128)).toBeCloseTo(5 + header, 12);
    expect(createCodec({ kind: "q5_0", dimension: 128 }).bitsPerElement(128)).toBeCloseTo(5.5 + header, 12);
  });

  it("rejects scales beyond fp16", () => {
    const codec = createCodec({ kind: "q8_0", dimension: 32 });
    const values = new Float32Array(32);
    values[3] = 1e7; // d = 1e7/127 > 65504
    let caught: unknown;
    try {
      codec.encode(values, 1, 32);
    } catch (error) {
      caught = error;
    }
    expect(CodecError.isInstance(caught) && caught.code).toBe("out-of-range");
  });
});

/** The block's step Δ: |d| (d is the block's first fp16). */
function steps(kind: GgmlKvType, data: Uint8Array, rows: number, dimension: number): Float64Array {
  const blockBytes = ggmlBlockBytes(kind, 32);
  const out = new Float64Array(rows * (dimension / 32));
  for (let block = 0; block < out.length; block++) {
    const offset = blockHeaderBytes + block * blockBytes;
    out[block] = Math.abs(fromHalfBits(data[offset] | (data[offset + 1] << 8)));
  }
  return out;
}

/** q4_1's fp16 minimum m of block `block` (bytes 2..3 of its 20). */
function minimumOf(data: Uint8Array, block: number): number {
  const offset = blockHeaderBytes + block * 20 + 2;
  return fromHalfBits(data[offset] | (data[offset + 1] << 8));
}

describe.each(["q8_0", "q4_0", "q4_1", "q5_0"] as const)("%s error against the uniform quantizer", (kind) => {
  const dimension = 64;
  const rows = 2000;
  const next = seededGenerator(17);
  const vectors = Float32Array.from({ length: rows * dimension }, () => gaussian(next));
  const codec = createCodec({ kind, dimension });
  const block = codec.encode(vectors, rows, dimension);
  const decoded = codec.decode(block);
  const step = steps(kind, block.data, rows, dimension);

  it("rounds to nearest: |x − x̂| ≤ Δ/2 except q4_0/q5_0's clipped top level (≤ Δ)", () => {
    // Slack: d is rounded to fp16 (relative 2^−11) and levels reach L·d (L = 127, 8, 15, 16), so a level moves by
    // ≤ L·2^−11·Δ; q4_1's fp16 minimum m moves every level by ≤ |m|·2^−11 more.
    const clippedBound = kind === "q4_0" || kind === "q5_0" ? 1 : 0.5;
    const reach = { q8_0: 127, q4_0: 8, q4_1: 15, q5_0: 16 }[kind];
    let worst = 0;
    for (let index = 0; index < vectors.length; index++) {
      const delta = step[Math.floor(index / 32)];
      const error = Math.abs(vectors[index] - decoded[index]);
      worst = Math.max(worst, error / delta);
      const minimum = kind === "q4_1" ? Math.abs(minimumOf(block.data, Math.floor(index / 32))) : 0;
      expect(error).toBeLessThanOrEqual(delta * (clippedBound + reach * 2 ** -11) + minimum * 2 ** -11 + 1e-7);
    }
    expect(worst).toBeGreaterThan(0.45); // the bound is reached, so the check can fail
  });

  it("MSE matches the closed-form uniform-quantizer Δ²/12 per element, less the elements that sit on a level", () => {
    // Uniform quantizer: error uniform on ±Δ/2 → Δ²/12 per element. The block's extreme elements are levels exactly
    // (absmax for q8_0/q4_0/q5_0, min and max for q4_1), so the expected ratio is 31/32 (q4_1: 30/32); q4_0/q5_0's
    // missing top level adds a little. Measured on 2000 Gaussian rows: 0.972, 0.993, 0.941, 0.981. Tolerance 0.03.
    let error = 0;
    let bound = 0;
    for (let index = 0; index < vectors.length; index++) {
      error += (vectors[index] - decoded[index]) ** 2;
      bound += step[Math.floor(index / 32)] ** 2 / 12;
    }
    const expected = kind === "q4_1" ? 30 / 32 : 31 / 32;
    expect(Math.abs(error / bound - expected)).toBeLessThan(0.03);
  });
});
