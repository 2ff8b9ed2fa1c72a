import { buildFibQuantCodebook, buildScalarCodebook, nearestCodewordBruteForce, quantizeScalar } from "@kvpack/codebook";
import { describe, expect, test } from "vitest";
import { codebookInput } from "./codebook-input.js";
import { gaussianArray, seededRandom } from "./conformance/seeded-random.js";
import { createWasmBackend } from "./wasm/wasm-backend.js";

// Cross-check with @kvpack/codebook's own search: kernels' encode on its real tables must pick the
// same codewords as its brute-force / threshold quantizers (exact ties are measure-zero here).
describe("kernels on @kvpack/codebook tables", () => {
  test("wasm encode = nearestCodewordBruteForce on a refined FibQuant k=2, 2-bit codebook (d = 64)", async () => {
    const codebook = buildFibQuantCodebook({ sourceDimension: 64, blockSize: 2, bits: 2, restarts: 1, iterations: 4, polishIterations: 0, evaluationSamples: 1000 });
    const backend = createWasmBackend();
    await backend.init();
    const count = 50;
    const vectors = gaussianArray(seededRandom(5), count * 64);
    const { codes, norms } = await backend.kernels.encode({ vectors, count, dimension: 64, codebook: codebookInput(codebook) });
    const unit = new Float32Array(64);
    let mismatches = 0;
    for (let row = 0; row < count; row++) {
      for (let i = 0; i < 64; i++) unit[i] = vectors[row * 64 + i] / norms[row];
      for (let block = 0; block < 32; block++) {
        if (codes[row * 32 + block] !== nearestCodewordBruteForce(codebook, unit, block * 2)) mismatches++;
      }
    }
    expect(mismatches).toBe(0);
  });

  test("wasm encode with a 3-bit Lloyd–Max scalar table = quantizeScalar per coordinate", async () => {
    const codebook = buildScalarCodebook({ sourceDimension: 32, bits: 3 });
    const backend = createWasmBackend();
    await backend.init();
    const vectors = gaussianArray(seededRandom(6), 20 * 32);
    const { codes, norms } = await backend.kernels.encode({ vectors, count: 20, dimension: 32, codebook: codebookInput(codebook) });
    let mismatches = 0;
    for (let index = 0; index < vectors.length; index++) {
      const value = vectors[index] / norms[Math.floor(index / 32)];
      if (codes[index] !== quantizeScalar(codebook, value)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});
