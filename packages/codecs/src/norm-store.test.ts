import { describe, expect, it } from "vitest";
import { fromBfloat16Bits, fromHalfBits, halfBitsAtLeast, halfBitsAtMost, toBfloat16Bits, toHalfBits } from "./half-float.js";
import { seededGenerator } from "./testing/test-vectors.js";
import { NormStore } from "./norm-store.js";

describe("NormStore", () => {
  const norms = Float64Array.from({ length: 200 }, (_, index) => (index === 7 ? 0 : 0.05 * 1.0235 ** index));

  it("log8 keeps every norm within half a log step and zero exact", () => {
    const store = new NormStore("log8");
    const data = new Uint8Array(store.byteLength(norms.length));
    store.encode(norms, norms.length, data, 0);
    // Range of log2 norms over the non-zero rows, 254 steps: relative error ≤ 2^(range/508) − 1 (+ fp32 rounding);
    // the fp16 range header widens each end outward by at most one ulp (2^-8 for |log2| < 4).
    const range = Math.log2(norms[199] / norms[0]) + 2 ** -7;
    const bound = 2 ** (range / 508) - 1 + 1e-6;
    for (let row = 0; row < norms.length; row++) {
      const value = store.read(data, 0, row);
      if (norms[row] === 0) expect(value).toBe(0);
      else expect(Math.abs(value / norms[row] - 1)).toBeLessThanOrEqual(bound);
    }
    expect(data.length).toBe(4 + norms.length); // two fp16 range ends + one byte per row
  });

  it.each([
    ["log6", 6],
    ["log4", 4],
  ] as const)("%s packs %i bits per row and keeps every norm within half a log step", (format, width) => {
    const store = new NormStore(format);
    const data = new Uint8Array(store.byteLength(norms.length));
    expect(data.length).toBe(4 + Math.ceil((norms.length * width) / 8)); // two fp16 range ends + packed codes
    store.encode(norms, norms.length, data, 0);
    // 2^width − 2 steps over the log2 range: relative error ≤ 2^(range / (2·(2^width − 2))) − 1 (+ fp32 rounding),
    // the range widened outward by at most one fp16 ulp at each end (2^-8 for |log2| < 4).
    const range = Math.log2(norms[199] / norms[0]) + 2 ** -7;
    const bound = 2 ** (range / (2 * (2 ** width - 2))) - 1 + 1e-6;
    for (let row = 0; row < norms.length; row++) {
      const value = store.read(data, 0, row);
      if (norms[row] === 0) expect(value).toBe(0);
      else expect(Math.abs(value / norms[row] - 1)).toBeLessThanOrEqual(bound);
    }
  });

  it("keeps norms spread over 2^±100 inside the fp16 range header", () => {
    // log2 of ±100 needs the outward rounding: fp16's ulp there is 2^-4, so the ends move by up to 1/16.
    const wide = Float64Array.from({ length: 64 }, (_, index) => 2 ** (-100 + (200 * index) / 63) * 1.0001);
    const store = new NormStore("log8");
    const data = new Uint8Array(store.byteLength(wide.length));
    store.encode(wide, wide.length, data, 0);
    // Half a log step of (200 + 2/16) / 254 plus fp32 rounding of the decoded norm.
    const bound = 2 ** ((200 + 1 / 8) / 508) - 1 + 1e-6;
    for (let row = 0; row < wide.length; row++) {
      expect(Math.abs(store.read(data, 0, row) / wide[row] - 1)).toBeLessThanOrEqual(bound);
    }
  });

  it("fp16 and bf16 round to nearest within half an ulp", () => {
    for (const format of ["fp16", "bf16"] as const) {
      const store = new NormStore(format);
      const data = new Uint8Array(store.byteLength(norms.length));
      store.encode(norms, norms.length, data, 0);
      // Relative half-ulp: 2^-11 for binary16 (10 mantissa bits), 2^-8 for bfloat16 (7 bits).
      const bound = format === "fp16" ? 2 ** -11 : 2 ** -8;
      for (let row = 0; row < norms.length; row++) {
        const value = store.read(data, 0, row);
        if (norms[row] === 0) expect(value).toBe(0);
        else expect(Math.abs(value / norms[row] - 1)).toBeLessThanOrEqual(bound);
      }
    }
  });
});

describe("half floats", () => {
  it("round-trip every binary16 and bfloat16 bit pattern that is not NaN", () => {
    for (let bits = 0; bits < 65536; bits++) {
      const half = fromHalfBits(bits);
      if (!Number.isNaN(half)) expect(toHalfBits(half)).toBe(bits);
      const brain = fromBfloat16Bits(bits);
      if (!Number.isNaN(brain)) expect(toBfloat16Bits(brain)).toBe(bits);
    }
  });

  it("rounds ties to even and subnormals correctly (IEEE 754 binary16)", () => {
    expect(toHalfBits(1 + 2 ** -11)).toBe(0x3c00); // tie → even mantissa 0
    expect(toHalfBits(1 + 3 * 2 ** -11)).toBe(0x3c02); // tie → even mantissa 2
    expect(fromHalfBits(toHalfBits(2 ** -24))).toBe(2 ** -24); // smallest subnormal
    expect(toHalfBits(2 ** -26)).toBe(0); // below half the smallest subnormal
    expect(fromHalfBits(toHalfBits(65504))).toBe(65504);
  });

  it("rounds down and up to the neighbouring halves (directed rounding)", () => {
    const next = seededGenerator(17);
    for (let trial = 0; trial < 2000; trial++) {
      const value = (next() - 0.5) * 2 ** Math.floor(next() * 40 - 24);
      const below = fromHalfBits(halfBitsAtMost(value));
      const above = fromHalfBits(halfBitsAtLeast(value));
      expect(below).toBeLessThanOrEqual(value);
      expect(above).toBeGreaterThanOrEqual(value);
      // Adjacent halves: equal when value is a half, otherwise one binary16 ulp apart (2^(e−10), subnormal step 2^-24).
      const ulp = Math.max(2 ** -24, 2 ** (Math.floor(Math.log2(Math.max(Math.abs(below), Math.abs(above), 2 ** -14))) - 10));
      expect(above - below).toBeLessThanOrEqual(ulp);
    }
    expect(fromHalfBits(halfBitsAtMost(1))).toBe(1);
    expect(fromHalfBits(halfBitsAtMost(1 + 2 ** -12))).toBe(1);
    expect(fromHalfBits(halfBitsAtLeast(1 + 2 ** -12))).toBe(1 + 2 ** -10);
    expect(fromHalfBits(halfBitsAtMost(-(1 + 2 ** -12)))).toBe(-(1 + 2 ** -10));
    expect(fromHalfBits(halfBitsAtLeast(-(1 + 2 ** -12)))).toBe(-1);
    expect(fromHalfBits(halfBitsAtMost(-(2 ** -30)))).toBe(-(2 ** -24));
    expect(fromHalfBits(halfBitsAtLeast(2 ** -30))).toBe(2 ** -24);
  });
});

describe("float16 outward rounding", () => {
  it("rounds down / up to the neighbouring float16 values (every 37th float16 pattern and midpoints)", () => {
    for (let bits = 0; bits < 0x7c00; bits += 37) {
      const value = fromHalfBits(bits);
      // A float16 value rounds to itself both ways (±0 compare equal).
      expect(fromHalfBits(halfBitsAtMost(value))).toBe(value);
      expect(fromHalfBits(halfBitsAtLeast(value))).toBe(value);
      // Halfway to the next float16 up: down gives `value`, up gives the next one.
      const next = fromHalfBits(bits + 1);
      const middle = Math.fround((value + next) / 2);
      if (middle > value && middle < next) {
        expect(fromHalfBits(halfBitsAtMost(middle))).toBe(value);
        expect(fromHalfBits(halfBitsAtLeast(middle))).toBe(next);
        expect(fromHalfBits(halfBitsAtMost(-middle))).toBe(-next);
        expect(fromHalfBits(halfBitsAtLeast(-middle))).toBe(-value);
      }
    }
  });

  it("overflows outward to ±∞ and keeps tiny values on the right side of 0", () => {
    // 65504 is the largest finite float16 (IEEE 754 binary16).
    expect(fromHalfBits(halfBitsAtLeast(70000))).toBe(Infinity);
    expect(fromHalfBits(halfBitsAtMost(70000))).toBe(65504);
    expect(fromHalfBits(halfBitsAtMost(-70000))).toBe(-Infinity);
    // 2⁻²⁴ is the smallest float16 subnormal.
    expect(fromHalfBits(halfBitsAtLeast(1e-10))).toBe(2 ** -24);
    expect(fromHalfBits(halfBitsAtMost(1e-10))).toBe(0);
    expect(fromHalfBits(halfBitsAtMost(-1e-10))).toBe(-(2 ** -24));
  });
});
