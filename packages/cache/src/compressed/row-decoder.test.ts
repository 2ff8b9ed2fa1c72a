import { describe, expect, it } from "vitest";
import { createTestCodec, seededFloats } from "../test-support/test-codecs.js";
import { RowDecoder } from "./row-decoder.js";

const headDim = 4;
const int8 = createTestCodec({ kind: "int8", dimension: headDim });

describe("RowDecoder", () => {
  it("decodes what codec.decode decodes, bit for bit (int8: the lossy rows, not the originals)", () => {
    const rows = seededFloats(3 * headDim, 7);
    const block = int8.encode(rows, 3, headDim);
    const decoded = new RowDecoder(headDim).keys(int8, block, 3);
    expect(Array.from(decoded)).toEqual(Array.from(int8.decode(block)));
    expect(decoded.length).toBe(3 * headDim);
    expect(Array.from(decoded)).not.toEqual(Array.from(rows));
  });

  it("reuses its scratch for smaller blocks and grows it for larger ones", () => {
    const decoder = new RowDecoder(headDim);
    const big = decoder.keys(int8, int8.encode(seededFloats(4 * headDim, 1), 4, headDim), 4);
    const small = decoder.keys(int8, int8.encode(seededFloats(2 * headDim, 2), 2, headDim), 2);
    expect(small.buffer).toBe(big.buffer);
    expect(small.length).toBe(2 * headDim);
    const bigger = decoder.keys(int8, int8.encode(seededFloats(6 * headDim, 3), 6, headDim), 6);
    expect(bigger.buffer).not.toBe(big.buffer);
    expect(bigger.length).toBe(6 * headDim);
  });

  it("keeps keys and values in separate scratch, so both views stay valid together", () => {
    const decoder = new RowDecoder(headDim);
    const keyBlock = int8.encode(seededFloats(2 * headDim, 4), 2, headDim);
    const valueBlock = int8.encode(seededFloats(2 * headDim, 5), 2, headDim);
    const keys = decoder.keys(int8, keyBlock, 2);
    const values = decoder.values(int8, valueBlock, 2);
    expect(Array.from(keys)).toEqual(Array.from(int8.decode(keyBlock)));
    expect(Array.from(values)).toEqual(Array.from(int8.decode(valueBlock)));
  });
});
