import { describe, expect, it } from "vitest";
import { quantizeGgml } from "../gguf/gguf-writer.js";
import { dequantizeGgml } from "../gguf/ggml-dequantize.js";
import { GgmlType } from "../gguf/gguf-types.js";
import { QuantizedTensor } from "../gguf/quantized-tensor.js";
import { SeededRandom } from "../generation/seeded-random.js";
import { blockEmbeddingRows, floatEmbeddingRows } from "./embedding-rows.js";

// Expected values: the whole tensor dequantized at once (the loader's fp32 tokenEmbedding), row by
// row; tolerance none (the same dequantize_row_* formulas on the same blocks).
describe("embedding rows from file blocks", () => {
  const random = new SeededRandom(4);
  const cases = [
    { type: "Q8_0", vocab: 37, dim: 64 },
    { type: "Q8_0", vocab: 38, dim: 48 }, // rows start inside 32-value blocks
    { type: "Q4_K", vocab: 9, dim: 512 },
    { type: "Q6_K", vocab: 4, dim: 320 }, // rows start inside 256-value super-blocks
    { type: "F16", vocab: 11, dim: 24 },
    { type: "F32", vocab: 11, dim: 24 },
  ] as const;
  it.each(cases)("$type, $vocab × $dim: every row equals the full dequantization's", ({ type, vocab, dim }) => {
    const values = Float32Array.from({ length: vocab * dim }, () => random.nextFloat() * 2 - 1);
    const blocks = quantizeGgml(type, values);
    const tensor = new QuantizedTensor("token_embd.weight", type, [vocab, dim], blocks);
    const full = dequantizeGgml(GgmlType[type], blocks, 0, vocab * dim).slice(); // F32 comes back as a view: keep a copy
    const rows = blockEmbeddingRows(tensor, dim);
    const out = new Float32Array(dim);
    for (let token = 0; token < vocab; token++) {
      rows(token, out);
      expect(Array.from(out), `token ${token}`).toEqual(Array.from(full.subarray(token * dim, (token + 1) * dim)));
    }
    // A copy: overwriting the file's bytes afterwards does not change the rows.
    blocks.fill(0);
    rows(vocab - 1, out);
    expect(Array.from(out)).toEqual(Array.from(full.subarray((vocab - 1) * dim)));
  });

  it("fp32 rows read the embedding only on first use", () => {
    let reads = 0;
    const embedding = Float32Array.from({ length: 6 }, (_, i) => i);
    const rows = floatEmbeddingRows(() => (reads++, embedding), 3);
    expect(reads).toBe(0);
    const out = new Float32Array(3);
    rows(1, out);
    rows(0, out);
    expect(Array.from(out)).toEqual([0, 1, 2]);
    expect(reads).toBe(1);
  });
});
