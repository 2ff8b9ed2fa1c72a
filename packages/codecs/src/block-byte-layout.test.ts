import { describe, expect, it } from "vitest";
import type { CodecSpec } from "./codec.js";
import { createCodec } from "./create-codec.js";

// Expected parts from each codec's block layout as its file documents it, for 32 rows of dimension 64:
// header 4 bytes; codes = rows × coordinates × bits / 8 (bit-packed); side information per codec.
const rows = 32;
const dimension = 64;
const cases: { spec: CodecSpec; codeBytes: number; sideBytes: number; why: string }[] = [
  { spec: { kind: "fp32", dimension }, codeBytes: rows * dimension * 4, sideBytes: 0, why: "values only" },
  { spec: { kind: "fp16", dimension }, codeBytes: rows * dimension * 2, sideBytes: 0, why: "values only" },
  { spec: { kind: "int8", dimension }, codeBytes: rows * dimension, sideBytes: 2 * rows, why: "an fp16 scale per row" },
  { spec: { kind: "turboquant", dimension, bits: 4, norm: "fp16" }, codeBytes: (rows * dimension * 4) / 8, sideBytes: 2 * rows, why: "an fp16 norm per row" },
  { spec: { kind: "turboquant", dimension, bits: 6, norm: "fp32" }, codeBytes: (rows * dimension * 6) / 8, sideBytes: 4 * rows, why: "an fp32 norm per row" },
  // k = 2 coordinates per codeword, N = 2^(2·3) = 64 codewords: 6 bits per pair of coordinates.
  { spec: { kind: "fibquant", dimension, bits: 3, blockSize: 2, norm: "fp16" }, codeBytes: (rows * (dimension / 2) * 6) / 8, sideBytes: 2 * rows, why: "an fp16 norm per row" },
  // Centered: the block mean, int8 per channel + one exponent byte.
  { spec: { kind: "turboquant", dimension, bits: 4, norm: "fp16", center: true }, codeBytes: (rows * dimension * 4) / 8, sideBytes: 2 * rows + dimension + 1, why: "norms and the block mean" },
  // KIVI keys: per channel over the 32-token group, a 4-byte scale + zero point set per channel.
  { spec: { kind: "kivi", dimension, bits: 2, role: "key", groupSize: 32 }, codeBytes: (rows * dimension * 2) / 8, sideBytes: 4 * dimension, why: "scale + zero point per channel" },
  // QuaRot: a 4-byte scale + zero point per row.
  { spec: { kind: "quarot", dimension, bits: 4 }, codeBytes: (rows * dimension * 4) / 8, sideBytes: 4 * rows, why: "scale + zero point per row" },
  // llama.cpp q8_0: per 32 elements, fp16 d + 32 int8 quants; q4_1: fp16 d + fp16 m + 16 nibble bytes; q5_0: d + qh[4] + qs[16].
  { spec: { kind: "q8_0", dimension }, codeBytes: rows * dimension, sideBytes: rows * 2 * 2, why: "an fp16 d per 32 elements" },
  { spec: { kind: "q4_1", dimension }, codeBytes: (rows * dimension) / 2, sideBytes: rows * 2 * 4, why: "fp16 d and m per 32 elements" },
  { spec: { kind: "q5_0", dimension }, codeBytes: (rows * dimension * 5) / 8, sideBytes: rows * 2 * 2, why: "an fp16 d per 32 elements" },
];

describe("byteLayout: where a block's bytes go", () => {
  for (const { spec, codeBytes, sideBytes, why } of cases) {
    it(`${JSON.stringify(spec)}: codes ${codeBytes} B, side ${sideBytes} B (${why}), summing to encodedByteLength`, () => {
      const codec = createCodec(spec);
      const layout = codec.byteLayout!(rows);
      expect(layout).toEqual({ headerBytes: 4, codeBytes, sideBytes });
      expect(layout.headerBytes + layout.codeBytes + layout.sideBytes).toBe(codec.encodedByteLength(rows));
      // The block encode writes is exactly that long.
      const block = codec.encode(Float32Array.from({ length: rows * dimension }, (_, i) => Math.sin(i)), rows, dimension);
      expect(block.data.length).toBe(layout.headerBytes + layout.codeBytes + layout.sideBytes);
    });
  }
});
