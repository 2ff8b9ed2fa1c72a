import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { KernelBackend } from "../kernel-backend.js";
import { quantizeActivationsQ8_0 } from "../ts/quantized-matmul-reference.js";
import { createWasmBackend } from "../wasm/wasm-backend.js";
import { halfBits } from "./run-quantized-matmul-case.js";
import { gaussianArray, seededRandom } from "./seeded-random.js";

// The WASM kernels quantize activations to Q8_0 (quantizeRowQ8_0, 4 lanes at a time) before every
// block matmul. Read back exactly through a Q8_0 "identity": row r has d = 1 and code 1 at column r,
// so out[r] = 1 · s_block · q_r, an exact float product (|q| ≤ 127 times an 11-bit half scale).
// Expected values: quantizeActivationsQ8_0, the TypeScript transcription of llama.cpp's
// quantize_row_q8_0_ref (roundf, ties away from zero; d = max|x| / 127 kept as fp16). Tolerance: none.

function identityQ8_0(columns: number): Uint8Array {
  const bytes = new Uint8Array(columns * (columns / 32) * 34);
  const view = new DataView(bytes.buffer);
  for (let row = 0; row < columns; row++) {
    for (let block = 0; block < columns / 32; block++) view.setUint16((row * (columns / 32) + block) * 34, halfBits(1), true);
    bytes[(row * (columns / 32) + (row >> 5)) * 34 + 2 + (row & 31)] = 1;
  }
  return bytes;
}

describe("activation quantization of the wasm block matmuls = llama.cpp's quantize_row_q8_0_ref", () => {
  let backend: KernelBackend;
  beforeAll(async () => {
    backend = createWasmBackend({ threads: 1 });
    await backend.init();
  });
  afterAll(() => backend.dispose());

  it("random blocks, exact ties, the float just below a tie, a zero block and a subnormal block", async () => {
    const columns = 192;
    const vector = gaussianArray(seededRandom(11), columns, 3);
    // Block 1: max 127 makes d = 1, so x · (1/d) = x: ties k + 0.5 go away from zero, k + 0.5 − ulp do not.
    // The float32 just below k + 0.5 (bits − 1): below(0) + 0.5 rounds up to 1 in float32, so floor(x + 0.5) would give 1.
    const below = (k: number) => new Float32Array(new Uint32Array([new Uint32Array(Float32Array.of(k + 0.5).buffer)[0] - 1]).buffer)[0];
    const tricky = [127, 0.5, -0.5, 2.5, -2.5, below(2), -below(2), below(0), 126.5, -126.5, 0, -0, 1e-30, 63.5, -63.5];
    tricky.forEach((value, j) => (vector[32 + j] = value));
    vector.fill(0, 64, 96); // d = 0: every code 0
    for (let j = 96; j < 128; j++) vector[j] = (j % 2 ? 1 : -1) * (j - 95) * 1e-41; // amax subnormal (a float32 subnormal input)
    const { quants, scales } = quantizeActivationsQ8_0(vector);
    const expected = Float32Array.from(quants, (q, j) => q * scales[j >> 5]);
    const out = await backend.kernels.quantizedMatmul!({ matrix: identityQ8_0(columns), format: "q8_0", vector, rows: columns, columns });
    expect(Array.from(out)).toEqual(Array.from(expected));
    expect([quants[33], quants[34], quants[35], quants[36], quants[37], quants[38], quants[39]]).toEqual([1, -1, 3, -3, 2, -2, 0]);
  });
});
