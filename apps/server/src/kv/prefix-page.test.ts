import { describe, expect, it } from "vitest";
import { PrefixPageError, decodePrefixPage, encodePrefixPage } from "./prefix-page.js";

describe("prefix page format", () => {
  const tokens = [1, 403, 407];
  const floats = tokens.length * 2 * 4; // 3 tokens × 2 layers × rowFloats 4
  const keys = Float32Array.from({ length: floats }, (_, i) => i * 0.5 - 3);
  const values = Float32Array.from({ length: floats }, (_, i) => -i);

  it("round-trips token ids and rows bit for bit", () => {
    const page = decodePrefixPage(encodePrefixPage(tokens, 2, 4, keys, values), { layers: 2, rowFloats: 4 });
    expect(Array.from(page.tokenIds)).toEqual(tokens);
    expect(page.keys).toEqual(keys);
    expect(page.values).toEqual(values);
  });

  it("rejects truncation, another shape and non-finite rows", () => {
    const bytes = encodePrefixPage(tokens, 2, 4, keys, values);
    expect(() => decodePrefixPage(bytes.subarray(0, bytes.length - 1), { layers: 2, rowFloats: 4 })).toThrow(PrefixPageError);
    expect(() => decodePrefixPage(bytes, { layers: 3, rowFloats: 4 })).toThrow(/shape/);
    const poisoned = encodePrefixPage(tokens, 2, 4, Float32Array.from(keys, (value, i) => (i === 5 ? Number.NaN : value)), values);
    expect(() => decodePrefixPage(poisoned, { layers: 2, rowFloats: 4 })).toThrow(/non-finite/);
  });
});
