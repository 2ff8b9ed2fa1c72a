import { describe, expect, test } from "vitest";
import { packCodes } from "../code-layout.js";
import { KernelInputError } from "../kernel-errors.js";
import { createTypeScriptBackend } from "./typescript-backend.js";

// The ts backend is the oracle of the conformance suite; these tests pin it to closed forms.
const { kernels } = createTypeScriptBackend();
const twoCodewords = { codewords: new Float32Array([1, 0, 0, 1]), blockSize: 2 };

describe("ts reference kernels: closed forms", () => {
  test("decode: row = norm · concat(codewords) for 4-bit packed codes", async () => {
    // Hand case: codes (1, 0) and (0, 0) with norms 2 and 3 → [0,2,2,0] and [3,0,3,0].
    const codes = packCodes(new Uint8Array([1, 0, 0, 0]), 2, 2, 4);
    const out = await kernels.decode({ rows: { codes, bitWidth: 4, norms: new Float32Array([2, 3]), codebook: twoCodewords }, count: 2, dimension: 4 });
    expect(Array.from(out)).toEqual([0, 2, 2, 0, 3, 0, 3, 0]);
  });

  test("scores equal q·decode(row) (the LUT sum is exact in float64)", async () => {
    const rows = { codes: new Uint8Array([1, 0, 0, 1]), norms: new Float32Array([2, 0.5]), codebook: twoCodewords };
    const query = new Float32Array([0.25, -1, 3, 2]);
    const scores = await kernels.scores({ query, keys: rows, count: 2, dimension: 4 });
    // Row 0 = [0,2,2,0] → 0.25·0 − 1·2 + 3·2 + 0 = 4; row 1 = 0.5·[1,0,0,1] → 0.5·(0.25 + 2) = 1.125.
    expect(Array.from(scores)).toEqual([4, 1.125]);
  });

  test("attention over identical keys averages the values (uniform softmax)", async () => {
    const keys = { codes: new Uint8Array([0, 0, 0, 0]), norms: new Float32Array([1, 1]), codebook: twoCodewords };
    const values = { codes: new Uint8Array([0, 0, 1, 1]), norms: new Float32Array([1, 3]), codebook: twoCodewords };
    const out = await kernels.attention({
      queries: new Float32Array([5, -2, 1, 7]), keys, values, tokenCount: 2, headCount: 1, kvHeadCount: 1, dimension: 4,
    });
    // Values [1,0,1,0] and [0,3,0,3], weights ½ each → [0.5, 1.5, 0.5, 1.5].
    expect(Array.from(out)).toEqual([0.5, 1.5, 0.5, 1.5]);
  });

  test("dense attention with one token returns that token's value", async () => {
    const out = await kernels.denseAttention({
      queries: new Float32Array([1, 2]), keys: new Float32Array([3, 4]), values: new Float32Array([-1, 9]),
      tokenCount: 1, headCount: 1, kvHeadCount: 1, dimension: 2,
    });
    expect(Array.from(out)).toEqual([-1, 9]);
  });

  test("rmsNorm of a constant vector is the weight (up to ε = 1e-5)", async () => {
    const out = await kernels.rmsNorm({ input: new Float32Array([2, 2, 2, 2]), weight: new Float32Array([1, 2, 3, 4]) });
    // x/√(mean(x²)+ε) = 2/√(4+1e-5) = 0.99999875.
    out.forEach((value, index) => expect(value).toBeCloseTo((index + 1) * (2 / Math.sqrt(4 + 1e-5)), 6));
  });

  test("rope: identity at position 0; pair 0 rotates by the position in radians (frequency 1)", async () => {
    const input = new Float32Array([1, 0, 1, 0]);
    expect(Array.from(await kernels.rope({ input, headDimension: 4, position: 0 }))).toEqual([1, 0, 1, 0]);
    const out = await kernels.rope({ input, headDimension: 4, position: 3 });
    // llama2.c: pair i = 0 has frequency 1/10000^0 = 1; pair i = 2 has 1/10000^(2/4) = 0.01.
    expect(out[0]).toBeCloseTo(Math.cos(3), 6);
    expect(out[1]).toBeCloseTo(Math.sin(3), 6);
    expect(out[2]).toBeCloseTo(Math.cos(0.03), 6);
    expect(out[3]).toBeCloseTo(Math.sin(0.03), 6);
  });

  test("swiglu: silu(0) = 0, silu(x) → x·σ(x)", async () => {
    const out = await kernels.swiglu({ gate: new Float32Array([0, 1, -2]), up: new Float32Array([5, 2, 1]) });
    expect(out[0]).toBe(0);
    expect(out[1]).toBeCloseTo(2 / (1 + Math.exp(-1)), 6);
    expect(out[2]).toBeCloseTo(-2 / (1 + Math.exp(2)), 6);
  });

  test("matmul is row-major W·x (llama2.c)", async () => {
    const out = await kernels.matmul({ matrix: new Float32Array([1, 2, 3, 4, 5, 6]), vector: new Float32Array([1, 0, -1]), rows: 2, columns: 3 });
    expect(Array.from(out)).toEqual([-2, -2]);
  });

  test("encode: a vector on a codeword's direction picks that codeword and its norm", async () => {
    const result = await kernels.encode({ vectors: new Float32Array([0, 5, 3, 0]), count: 1, dimension: 4, codebook: twoCodewords });
    // u = [0,1,0.6,0]/‖·‖... blocks (0, 5/√34) → codeword 1; (3/√34, 0) → codeword 0.
    expect(Array.from(result.codes)).toEqual([1, 0]);
    expect(result.norms[0]).toBeCloseTo(Math.sqrt(34), 5);
  });
});

describe("ts reference kernels: bad input is a typed error", () => {
  test("NaN in vectors, wrong lengths, out-of-range codes, bad options", async () => {
    await expect(kernels.encode({ vectors: new Float32Array([NaN, 0]), count: 1, dimension: 2, codebook: twoCodewords })).rejects.toThrow(KernelInputError);
    await expect(kernels.matmul({ matrix: new Float32Array(5), vector: new Float32Array(3), rows: 2, columns: 3 })).rejects.toThrow(/matrix has 5 elements/);
    await expect(
      kernels.decode({ rows: { codes: new Uint8Array([2]), norms: new Float32Array([1]), codebook: twoCodewords }, count: 1, dimension: 2 }),
    ).rejects.toThrow(/code 2 ≥ codebook size 2/);
    await expect(
      kernels.decode({ rows: { codes: new Uint8Array([0]), bitWidth: 3 as never, norms: new Float32Array([1]), codebook: twoCodewords }, count: 1, dimension: 2 }),
    ).rejects.toThrow(/bitWidth 3/);
    await expect(kernels.rope({ input: new Float32Array(6), headDimension: 3, position: 0 })).rejects.toThrow(/must be even/);
    await expect(
      kernels.denseAttention({ queries: new Float32Array(4), keys: new Float32Array(4), values: new Float32Array(4), tokenCount: 1, headCount: 2, kvHeadCount: 3, dimension: 2 }),
    ).rejects.toThrow(/not a multiple of kvHeadCount/);
    const error = await kernels.swiglu({ gate: new Float32Array(2), up: new Float32Array(3) }).catch((caught: unknown) => caught);
    expect(KernelInputError.isInstance(error)).toBe(true);
    await expect(kernels.swiglu({ gate: new Float32Array(2), up: new Float32Array(2), out: new Float32Array(3) })).rejects.toThrow(/out/);
  });
});
