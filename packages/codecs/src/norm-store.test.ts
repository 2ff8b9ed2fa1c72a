import { describe, expect, it } from "vitest";
import { fromBfloat16Bits, fromHalfBits, toBfloat16Bits, toHalfBits } from "./half-float.js";
import { NormStore } from "./norm-store.js";

describe("NormStore", () => {
  const norms = Float64Array.from({ length: 200 }, (_, index) => (index === 7 ? 0 : 0.05 * 1.0235 ** index));

  it("log8 keeps every norm within half a log step and zero exact", () => {
    const store = new NormStore("log8");
    const data = new Uint8Array(store.byteLength(norms.length));
    store.encode(norms, norms.length, data, 0);
    // Range of log2 norms over the non-zero rows, 254 steps: relative error ≤ 2^(range/508) − 1 (+ fp32 rounding).
    const range = Math.log2(norms[199] / norms[0]);
    const bound = 2 ** (range / 508) - 1 + 1e-6;
    for (let row = 0; row < norms.length; row++) {
      const value = store.read(data, 0, row);
      if (norms[row] === 0) expect(value).toBe(0);
      else expect(Math.abs(value / norms[row] - 1)).toBeLessThanOrEqual(bound);
    }
    expect(data.length).toBe(8 + norms.length);
  });

  it.each([
    ["log6", 6],
    ["log4", 4],
  ] as const)("%s packs %i bits per row and keeps every norm within half a log step", (format, width) => {
    const store = new NormStore(format);
    const data = new Uint8Array(store.byteLength(norms.length));
    expect(data.length).toBe(8 + Math.ceil((norms.length * width) / 8)); // 8-byte fp32 range + packed codes
    store.encode(norms, norms.length, data, 0);
    // 2^width − 2 steps over the log2 range: relative error ≤ 2^(range / (2·(2^width − 2))) − 1 (+ fp32 rounding).
    const range = Math.log2(norms[199] / norms[0]);
    const bound = 2 ** (range / (2 * (2 ** width - 2))) - 1 + 1e-6;
    for (let row = 0; row < norms.length; row++) {
      const value = store.read(data, 0, row);
      if (norms[row] === 0) expect(value).toBe(0);
      else expect(Math.abs(value / norms[row] - 1)).toBeLessThanOrEqual(bound);
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
});
