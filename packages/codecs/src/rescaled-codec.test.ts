import { describe, expect, it } from "vitest";
import type { CodecSpec } from "./codec.js";
import { createCodec } from "./create-codec.js";
import { randomUnitVectors } from "./testing/test-vectors.js";

/**
 * `rescale: true` stores the least-squares gain g = ‖x‖·(y·ŷ)/‖ŷ‖² instead of ‖x‖. For the same codes,
 * g minimizes ‖x − g·Rᵀŷ‖² over all scalars (closed form of a 1-D least-squares fit), so with an exact
 * (fp32) stored scalar no row can get worse, and on average the error drops.
 */
describe.each([
  { kind: "turboquant", dimension: 64, bits: 1, norm: "fp32" },
  { kind: "turboquant", dimension: 64, bits: 3, norm: "fp32" },
  { kind: "fibquant", dimension: 64, bits: 2, blockSize: 2, norm: "fp32" },
  { kind: "fibquant", dimension: 32, bits: 1, blockSize: 4, norm: "fp32" },
] as CodecSpec[])("rescaled $kind d=$dimension bits=$bits", (spec) => {
  it("never increases a row's error and lowers the mean error", () => {
    const count = 400;
    const dimension = spec.dimension;
    const vectors = randomUnitVectors(count, dimension, 31);
    const plain = createCodec(spec);
    const rescaled = createCodec({ ...spec, rescale: true } as CodecSpec);
    const plainDecoded = plain.decode(plain.encode(vectors, count, dimension));
    const rescaledDecoded = rescaled.decode(rescaled.encode(vectors, count, dimension));
    let plainTotal = 0;
    let rescaledTotal = 0;
    for (let row = 0; row < count; row++) {
      let plainError = 0;
      let rescaledError = 0;
      for (let index = 0; index < dimension; index++) {
        const at = row * dimension + index;
        plainError += (vectors[at] - plainDecoded[at]) ** 2;
        rescaledError += (vectors[at] - rescaledDecoded[at]) ** 2;
      }
      // fp32 storage of the gain and the float32 decode: 1e-6 slack on unit vectors.
      expect(rescaledError).toBeLessThanOrEqual(plainError + 1e-6);
      plainTotal += plainError;
      rescaledTotal += rescaledError;
    }
    expect(rescaledTotal).toBeLessThan(plainTotal);
    expect(rescaled.bitsPerElement(32)).toBe(plain.bitsPerElement(32));
  });
});
