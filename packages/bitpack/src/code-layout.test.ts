import { describe, expect, it } from "vitest";
import { BitpackError } from "./bitpack-error.js";
import { CodeLayout } from "./code-layout.js";
import { packCodes, packedByteLength, packFixedWidth, readCode, unpackCodes, unpackFixedWidth } from "./packed-codes.js";

/** Deterministic generator for the property tests (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Naive reference: every group of g codes becomes the BigInt Σ c_j·N^j, written bit by bit
 * (least significant first) into a plain array of bits; the final partial group uses the
 * minimal width for its digits.
 */
function referencePack(codes: number[], radix: number, perGroup: number, groupBits: number): Uint8Array {
  const bits: number[] = [];
  for (let start = 0; start < codes.length; start += perGroup) {
    const digits = Math.min(perGroup, codes.length - start);
    let value = 0n;
    for (let digit = digits - 1; digit >= 0; digit--) value = value * BigInt(radix) + BigInt(codes[start + digit]);
    const width = digits === perGroup ? groupBits : radix === 1 ? 0 : (BigInt(radix) ** BigInt(digits) - 1n).toString(2).length;
    for (let bit = 0; bit < width; bit++) bits.push(Number((value >> BigInt(bit)) & 1n));
  }
  const bytes = new Uint8Array(Math.ceil(bits.length / 8));
  bits.forEach((bit, index) => {
    bytes[index >> 3] |= bit << (index & 7);
  });
  return bytes;
}

describe("CodeLayout", () => {
  it("packs power-of-two radices at exactly log2(radix) bits per code", () => {
    for (let width = 1; width <= 24; width++) {
      const layout = new CodeLayout(2 ** width);
      expect(layout.codesPerGroup).toBe(1);
      expect(layout.bitsPerGroup).toBe(width);
      expect(packedByteLength(1000, 2 ** width)).toBe(Math.ceil((1000 * width) / 8));
    }
  });

  it("packs a non-power-of-two radix close to log2(radix) bits per code", () => {
    // Closed form: g0 = ⌊52/⌈log2 N⌉⌋ codes always fit one group, and ⌈g0·log2 N⌉ < g0·log2 N + 1,
    // so the chosen (minimal) layout wastes less than 1/g0 bit per code.
    for (const radix of [3, 5, 6, 7, 10, 11, 12, 13, 23, 100, 181, 1000, 5793, 65535, 1_000_003, (1 << 24) - 1]) {
      const layout = new CodeLayout(radix);
      const ideal = Math.log2(radix);
      const g0 = Math.floor(52 / Math.ceil(ideal));
      expect(layout.bitsPerCode).toBeGreaterThanOrEqual(ideal);
      expect(layout.bitsPerCode).toBeLessThan(ideal + 1 / g0);
      expect(layout.bitsPerGroup).toBeLessThanOrEqual(52);
    }
    // The example: radix 5 (2.32 bits) must not cost 3 bits.
    expect(new CodeLayout(5).bitsPerCode).toBeLessThan(2.34);
    expect(new CodeLayout(3, { maxGroupBits: 32 }).bitsPerGroup).toBeLessThanOrEqual(32);
  });

  it("matches the naive BigInt reference on random radices, lengths and codes", () => {
    const next = random(7);
    for (let trial = 0; trial < 300; trial++) {
      const radix =
        trial % 3 === 0
          ? 2 ** (1 + Math.floor(next() * 24))
          : trial % 3 === 1
            ? 1 + Math.floor(next() * 40)
            : 1 + Math.floor(next() ** 3 * ((1 << 24) - 1));
      const count = Math.floor(next() * 200);
      const codes = Array.from({ length: count }, () => Math.floor(next() * radix));
      const layout = new CodeLayout(radix, { maxGroupBits: trial % 2 === 0 ? 52 : 32 });
      const bytes = new Uint8Array(layout.byteLength(count) + 3);
      layout.pack(codes, count, bytes, 3);
      const reference = referencePack(codes, radix, layout.codesPerGroup, layout.bitsPerGroup);
      expect(layout.byteLength(count)).toBe(reference.length);
      expect(Array.from(bytes.subarray(3))).toEqual(Array.from(reference));
      // Random access, bulk unpack and sub-range unpack all agree with the input.
      const out = new Uint32Array(count);
      layout.unpack(bytes, 3, count, out);
      expect(Array.from(out)).toEqual(codes);
      for (let probe = 0; probe < 10 && count > 0; probe++) {
        const index = Math.floor(next() * count);
        expect(layout.read(bytes, 3, index, count)).toBe(codes[index]);
      }
      if (count > 2) {
        const start = Math.floor(next() * count);
        const length = Math.floor(next() * (count - start));
        const part = new Float64Array(length);
        layout.unpack(bytes, 3, count, part, start, length);
        expect(Array.from(part)).toEqual(codes.slice(start, start + length));
        const index = Math.floor(next() * count);
        const code = Math.floor(next() * radix);
        layout.write(bytes, 3, index, count, code);
        codes[index] = code;
        layout.unpack(bytes, 3, count, out);
        expect(Array.from(out)).toEqual(codes);
      }
    }
  });

  it("round-trips through the free functions and fixed-width helpers", () => {
    const codes = [0, 4, 1, 3, 2, 4, 4, 0, 1];
    const bytes = packCodes(codes, 5);
    expect(Array.from(unpackCodes(bytes, 5, codes.length))).toEqual(codes);
    expect(readCode(bytes, 5, codes.length, 5)).toBe(4);
    const wide = [0, 0xffffff, 12345, 1 << 23];
    expect(Array.from(unpackFixedWidth(packFixedWidth(wide, 24), 24, wide.length))).toEqual(wide);
  });

  it("rejects bad radices, widths, codes and short buffers with a typed error", () => {
    const expectCode = (action: () => unknown, code: string) => {
      try {
        action();
      } catch (error) {
        expect(BitpackError.isInstance(error)).toBe(true);
        expect((error as BitpackError).code).toBe(code);
        return;
      }
      throw new Error("expected a BitpackError");
    };
    expectCode(() => new CodeLayout(0), "invalid-radix");
    expectCode(() => new CodeLayout(2 ** 24 + 1), "invalid-radix");
    expectCode(() => packFixedWidth([1], 25), "invalid-width");
    expectCode(() => packCodes([5], 5), "code-out-of-range");
    expectCode(() => packCodes([1.5], 5), "code-out-of-range");
    expectCode(() => packCodes([Number.NaN], 4), "code-out-of-range");
    expectCode(() => new CodeLayout(16).pack([1, 2, 3], 3, new Uint8Array(1)), "buffer-too-small");
    expectCode(() => readCode(new Uint8Array(4), 5, 3, 3), "invalid-count");
  });
});
