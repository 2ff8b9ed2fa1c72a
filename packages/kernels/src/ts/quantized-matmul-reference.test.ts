import { describe, expect, it } from "vitest";
import { gaussianArray, seededRandom } from "../conformance/seeded-random.js";
import { halfBits, randomWeightBlocks } from "../conformance/run-quantized-matmul-case.js";
import { weightBlockLayout, weightRowBytes } from "../kernel-inputs.js";
import { halfToNumber, legacyCode, quantizeActivationsQ8_0, quantizedMatmulReference, roundToHalf } from "./quantized-matmul-reference.js";
import { createTypeScriptBackend } from "./typescript-backend.js";

describe("quantizedMatmul reference (ts oracle)", () => {
  it("one Q8_0 block by hand: codes 1, d = 1 against a vector of ones", () => {
    const block = new Uint8Array(34);
    new DataView(block.buffer).setUint16(0, 0x3c00, true); // half 1.0
    block.fill(1, 2);
    const vector = new Float32Array(32).fill(1);
    // Activations: d = 1/127 in float32, rounded to half = 2^-7·(1 + 8/1024); codes all 127.
    const dx = 2 ** -7 * (1 + 8 / 1024);
    expect(roundToHalf(Math.fround(1 / 127))).toBe(dx);
    const [value] = quantizedMatmulReference({ matrix: block, format: "q8_0", vector, rows: 1, columns: 32 }, block);
    expect(value).toBe(Math.fround(1 * dx * 127 * 32));
  });

  it("Q4_0 nibbles: low halves are values 0–15, high halves 16–31, each minus 8", () => {
    const block = new Uint8Array(18);
    new DataView(block.buffer).setUint16(0, 0x3c00, true);
    block[2] = 0x9f; // value 0 = 15 − 8 = 7, value 16 = 9 − 8 = 1
    block.fill(0x88, 3); // every other value 0
    const vector = new Float32Array(32);
    vector[0] = 1; // d = 1/127, code 127
    expect(quantizedMatmulReference({ matrix: block, format: "q4_0", vector, rows: 1, columns: 32 }, block)[0]).toBe(Math.fround(7 * 127 * roundToHalf(Math.fround(1 / 127))));
    vector[0] = 0;
    vector[16] = -1; // code −127
    expect(quantizedMatmulReference({ matrix: block, format: "q4_0", vector, rows: 1, columns: 32 }, block)[0]).toBe(Math.fround(-1 * 127 * roundToHalf(Math.fround(1 / 127))));
  });

  it("activations: roundf ties away from zero, codes within ±127, scale a half", () => {
    const vector = new Float32Array(32);
    vector[0] = 127; // d = 1 exactly
    vector[1] = 2.5;
    vector[2] = -2.5;
    vector[3] = 0.49;
    const { quants, scales } = quantizeActivationsQ8_0(vector);
    expect([quants[0], quants[1], quants[2], quants[3]]).toEqual([127, 3, -3, 0]);
    expect(scales[0]).toBe(1);
  });

  it("agrees with dequantized weights · fp32 vector within the activation rounding bound", () => {
    // |Σ w·(x − x̂)| ≤ Σ |w|·(d/2 + 127·|d − half(d)|) per block, d = max|x|/127: the only error source.
    const random = seededRandom(5);
    const rows = 6;
    const columns = 96;
    const vector = gaussianArray(random, columns);
    for (const format of ["q8_0", "q4_0", "q4_1", "q5_0"] as const) {
      const matrix = randomWeightBlocks(random, format, rows, columns);
      const result = quantizedMatmulReference({ matrix, format, vector, rows, columns }, matrix);
      const view = new DataView(matrix.buffer);
      const blockBytes = weightBlockLayout[format].bytes;
      for (let row = 0; row < rows; row++) {
        let exact = 0;
        let bound = 0;
        for (let block = 0; block < columns / 32; block++) {
          const at = row * weightRowBytes(format, columns) + block * blockBytes;
          let amax = 0;
          for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(vector[block * 32 + j]));
          const d = Math.fround(amax / 127);
          const perValue = d / 2 + 127 * Math.abs(d - roundToHalf(d));
          for (let j = 0; j < 32; j++) {
            const offset = format === "q4_1" ? halfToNumber(view.getUint16(at + 2, true)) : 0;
            const weight = legacyCode(format, matrix, at, j) * halfToNumber(view.getUint16(at, true)) + offset;
            exact += weight * vector[block * 32 + j];
            bound += Math.abs(weight) * perValue;
          }
        }
        expect(Math.abs(result[row] - exact)).toBeLessThanOrEqual(bound * 1.0001 + 1e-6);
        expect(bound).toBeGreaterThan(0);
      }
    }
  });

  it("f16 weights widen exactly: halfBits → halfToNumber is the nearest half", () => {
    for (const value of [1, -2, 0.1, 65504, 6.103515625e-5, 3e-6, -1e-7, 0]) expect(halfToNumber(halfBits(value))).toBe(roundToHalf(Math.fround(value)));
  });

  it("names bad input: columns not a block multiple, wrong byte length, unknown format", async () => {
    const kernels = createTypeScriptBackend().kernels;
    const vector = new Float32Array(40);
    await expect(kernels.quantizedMatmul!({ matrix: new Uint8Array(34), format: "q8_0", vector, rows: 1, columns: 40 })).rejects.toThrow(/multiple of 32, got 40/);
    await expect(kernels.quantizedMatmul!({ matrix: new Uint8Array(33), format: "q8_0", vector: vector.subarray(0, 32), rows: 1, columns: 32 })).rejects.toThrow(/matrix has 33 elements, expected 34/);
    await expect(kernels.quantizedMatmul!({ matrix: new Uint8Array(34), format: "q5_k" as never, vector: vector.subarray(0, 32), rows: 1, columns: 32 })).rejects.toThrow(/format must be one of q8_0, q4_0, f16, q4_k, q6_k, q4_1, q5_0/);
  });
});
