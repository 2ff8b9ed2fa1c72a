import { createTypeScriptBackend, createWasmBackend, type KernelBackend } from "@kvpack/kernels";
import { describe, expect, it } from "vitest";
import { ggmlBlockCodecs } from "../gguf/ggml-block-codecs.js";

/**
 * The kernels' block matmuls (Q4_K, Q6_K, Q4_1, Q5_0) read the blocks this package writes
 * (ggml-q4-k.ts, ggml-q6-k.ts, ggml-legacy-quants.ts: llama.cpp's quantize_row_*_ref) as this
 * package's dequantizers do: on the ts and wasm backends, quantizedMatmul of the blocks vs the fp32
 * product of the dequantized rows, at a SmolLM2 ffn_down shape (576 × 1536) with an odd row count.
 */
function uniform(length: number, seed: number, scale: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length }, () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return (state / 4294967296 - 0.5) * 2 * scale;
  });
}

describe.each([
  { name: "ts", create: createTypeScriptBackend },
  { name: "wasm", create: createWasmBackend },
] satisfies { name: string; create: () => KernelBackend }[])("GGUF blocks written here, multiplied on the $name backend", ({ create }) => {
  it.each(["Q4_K", "Q6_K", "Q4_1", "Q5_0"] as const)("%s 577 × 1536: within the Q8_0 activation rounding bound of dequantized · fp32", async (type) => {
    const rows = 577;
    const columns = 1536;
    const codec = ggmlBlockCodecs[type]!;
    const blocks = codec.quantize(uniform(rows * columns, 5, 0.1));
    const weights = new Float32Array(rows * columns);
    codec.dequantize(blocks, 0, rows * columns, weights, 0);
    const vector = uniform(columns, 9, 1);
    const backend = create();
    await backend.init();
    const result = await backend.kernels.quantizedMatmul!({ matrix: blocks, format: type.toLowerCase() as "q4_k" | "q6_k" | "q4_1" | "q5_0", vector, rows, columns });
    backend.dispose();
    // Activation error per value ≤ d/2 + 127·|d − half(d)| ≤ d/2 + 127·d·2^-11 with d = max|x|/127 of its 32-block (the
    // Q8_0 rounding, half-rounded scale), so |Σ w·(x − x̂)| ≤ Σ |w|·that; plus float32 reordering
    // (1e-4 · Σ|w·x|, the wasm conformance tolerance).
    const perValue = new Float64Array(columns);
    for (let block = 0; block < columns / 32; block++) {
      let amax = 0;
      for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(vector[block * 32 + j]));
      const d = Math.fround(amax / 127);
      // |d − half(d)| ≤ d · 2^-11 for a normal half.
      perValue.fill(d / 2 + 127 * d * 2 ** -11, block * 32, block * 32 + 32);
    }
    let worstRatio = 0;
    for (let row = 0; row < rows; row++) {
      let exact = 0;
      let bound = 0;
      let magnitude = 0;
      for (let column = 0; column < columns; column++) {
        const weight = weights[row * columns + column];
        exact += weight * vector[column];
        bound += Math.abs(weight) * perValue[column];
        magnitude += Math.abs(weight * vector[column]);
      }
      const error = Math.abs(result[row] - exact);
      expect(error).toBeLessThanOrEqual(bound + 1e-4 * magnitude);
      worstRatio = Math.max(worstRatio, error / bound);
    }
    // The bound is not vacuous: some row uses a good part of it.
    expect(worstRatio).toBeGreaterThan(0.01);
  });
});
