import { describe, expect, it } from "vitest";
import { gaussianArray, seededRandom } from "../conformance/seeded-random.js";
import { randomWeightBlocks } from "../conformance/run-quantized-matmul-case.js";
import { decodeQ4_K, decodeQ6_K } from "./k-quant-blocks.js";
import { quantizedMatmulReference, roundToHalf } from "./quantized-matmul-reference.js";

/** Value i of a decoded super-block: scale·code − minimum of its sub-block. */
function valueAt(block: ReturnType<typeof decodeQ4_K>, i: number): number {
  const j = Math.floor(i / block.subBlockSize);
  return block.scales[j] * block.codes[i] - block.minimums[j];
}

describe("K-quant super-blocks (ggml-common.h layouts)", () => {
  it("Q4_K by hand: sub-block 5's 6-bit scale and min come from the high bits of bytes 1 and 5 (get_scale_min_k4)", () => {
    const block = new Uint8Array(144);
    const view = new DataView(block.buffer);
    view.setUint16(0, 0x3c00, true); // d = 1
    view.setUint16(2, 0x3800, true); // dmin = 0.5
    // j = 5: scale = (q[9] & 15) | (q[1] >> 6) << 4 = 3 | 48 = 51; min = (q[9] >> 4) | (q[5] >> 6) << 4 = 7 | 16 = 23.
    block[4 + 9] = 0x73;
    block[4 + 1] = 0b11000000;
    block[4 + 5] = 0b01000000;
    // Sub-block 5 = high nibbles of group 2 (bytes 64…95 of qs); value 5·32 + 3 gets code 10.
    block[16 + 64 + 3] = 0xa0;
    const decoded = decodeQ4_K(block, 0);
    expect(valueAt(decoded, 163)).toBe(51 * 10 - 0.5 * 23);
    expect(valueAt(decoded, 160)).toBe(-0.5 * 23);
    // Sub-block 1 keeps only the low 6 bits of bytes 1 and 5: scale 0, min 0.
    expect(valueAt(decoded, 32)).toBe(0);
    // The low nibble of the same byte is sub-block 4's value 3 (code 0, scale 0, min 0).
    expect(valueAt(decoded, 131)).toBe(0);
  });

  it("Q6_K by hand: value 229 = half 1, group 3, l = 5 (high nibble of ql[101], bits 6–7 of qh[165], scale 14)", () => {
    const block = new Uint8Array(210);
    const view = new DataView(block.buffer);
    view.setUint16(208, 0x3c00, true); // d = 1
    for (let i = 0; i < 16; i++) view.setInt8(192 + i, i - 8);
    block[101] = 0xb0;
    block[165] = 0b10000000;
    const decoded = decodeQ6_K(block, 0);
    // q = 11 | 2 << 4 = 43, code 43 − 32 = 11, scale 14 − 8 = 6.
    expect(valueAt(decoded, 229)).toBe(66);
    // Every other value has q = 0: code −32 times its sub-block's scale.
    expect(valueAt(decoded, 0)).toBe(-32 * -8);
    expect(valueAt(decoded, 255)).toBe(-32 * 7);
  });

  it("the oracle agrees with dequantized weights · fp32 vector within the activation rounding bound", () => {
    // Weights are exact (the decoded values); only the activations are rounded (Q8_0 per 32):
    // |Σ w·(x − x̂)| ≤ Σ |w|·(d/2 + 127·|d − half(d)|), d = max|x|/127 of x's 32-block.
    const random = seededRandom(7);
    const rows = 5;
    const columns = 512;
    const vector = gaussianArray(random, columns);
    for (const format of ["q4_k", "q6_k"] as const) {
      const matrix = randomWeightBlocks(random, format, rows, columns);
      const result = quantizedMatmulReference({ matrix, format, vector, rows, columns }, matrix);
      const bytes = format === "q4_k" ? 144 : 210;
      for (let row = 0; row < rows; row++) {
        let exact = 0;
        let bound = 0;
        for (let s = 0; s < columns / 256; s++) {
          const block = (format === "q4_k" ? decodeQ4_K : decodeQ6_K)(matrix, (row * (columns / 256) + s) * bytes);
          for (let i = 0; i < 256; i++) {
            const column = s * 256 + i;
            let amax = 0;
            for (let j = column & ~31; j < (column & ~31) + 32; j++) amax = Math.max(amax, Math.abs(vector[j]));
            const d = Math.fround(amax / 127);
            const weight = valueAt(block, i);
            exact += weight * vector[column];
            bound += Math.abs(weight) * (d / 2 + 127 * Math.abs(d - roundToHalf(d)));
          }
        }
        expect(Math.abs(result[row] - exact)).toBeLessThanOrEqual(bound * 1.0001 + 1e-6);
        expect(Math.abs(result[row] - exact)).toBeGreaterThan(0);
      }
    }
  });
});
