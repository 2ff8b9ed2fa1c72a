import { describe, expect, it } from "vitest";
import type { CodecSpec } from "./codec.js";
import { createCodec } from "./create-codec.js";
import { blockMeanByteLength, writeBlockMean } from "./block-mean.js";
import { gaussian, seededGenerator } from "./testing/test-vectors.js";

/**
 * Block-mean centering (`center: true`) for the spherical codecs. Real keys carry a large per-channel
 * offset shared by all tokens (stories260K layer 2 keys: channel 6 ≈ −12 on every token, norms ≈ 20),
 * which per-vector normalization turns into error on every coordinate. Centering removes it first.
 */
function offsetVectors(count: number, dimension: number, seed: number): Float32Array {
  const next = seededGenerator(seed);
  const offset = Float32Array.from({ length: dimension }, (_, index) => (index % 3 === 0 ? 12 : -4) + index * 0.25);
  const vectors = new Float32Array(count * dimension);
  for (let row = 0; row < count; row++) {
    for (let index = 0; index < dimension; index++) vectors[row * dimension + index] = offset[index] + 2 * gaussian(next);
  }
  return vectors;
}

function squaredError(a: Float32Array, b: Float32Array): number {
  let sum = 0;
  for (let index = 0; index < a.length; index++) sum += (a[index] - b[index]) ** 2;
  return sum;
}

const centeredSpecs: CodecSpec[] = [
  { kind: "turboquant", dimension: 8, bits: 3, norm: "log8", center: true },
  { kind: "turboquant", dimension: 64, bits: 2, norm: "fp16", center: true },
  { kind: "fibquant", dimension: 8, bits: 2, blockSize: 2, norm: "log8", center: true },
  { kind: "fibquant", dimension: 32, bits: 1.5, blockSize: 4, norm: "fp16", center: true },
];

describe.each(centeredSpecs.map((spec) => [JSON.stringify(spec), spec] as const))("centered %s", (_, spec) => {
  const dimension = spec.dimension;
  const count = 32;
  const codec = createCodec(spec);
  const uncentered = createCodec({ ...spec, center: false } as CodecSpec);

  it("costs exactly one int8 mean (d codes + an exponent byte) per block more than the uncentered codec", () => {
    // d + 1 bytes per block, whatever the row count (block-mean.ts).
    expect(blockMeanByteLength(dimension)).toBe(dimension + 1);
    expect(codec.encodedByteLength(count) - uncentered.encodedByteLength(count)).toBe(dimension + 1);
    expect(codec.bitsPerElement(count) - uncentered.bitsPerElement(count)).toBeCloseTo((8 * (dimension + 1)) / (count * dimension), 12);
    expect(codec.codecId).not.toBe(uncentered.codecId);
  });

  it("decodes a block of identical rows that the stored mean represents exactly (zero residual → norm 0)", () => {
    const row = new Float32Array(dimension);
    writeBlockMean(offsetVectors(1, dimension, 5), 1, dimension, new Uint8Array(dimension + 1), 0, row);
    const vectors = new Float32Array(count * dimension);
    for (let index = 0; index < count; index++) vectors.set(row, index * dimension);
    const decoded = codec.decode(codec.encode(vectors, count, dimension));
    for (let index = 0; index < count * dimension; index++) {
      expect(decoded[index]).toBe(vectors[index]);
    }
  });

  it("cuts the error on offset vectors at least 4× against the uncentered codec at the same code rate", () => {
    // Offsets of 4–12 against a per-coordinate spread of 2: the uncentered codec spends its bits on the offset.
    const vectors = offsetVectors(count, dimension, 9);
    const centeredError = squaredError(vectors, codec.decode(codec.encode(vectors, count, dimension)));
    const uncenteredError = squaredError(vectors, uncentered.decode(uncentered.encode(vectors, count, dimension)));
    expect(centeredError * 4).toBeLessThan(uncenteredError);
  });

  it("scores and accumulate stay equal to the decoded rows (1e-5 relative)", () => {
    const vectors = offsetVectors(count, dimension, 13);
    const block = codec.encode(vectors, count, dimension);
    const decoded = codec.decode(block);
    const query = offsetVectors(1, dimension, 21);
    const scores = codec.scores(codec.prepareQuery(query), block);
    const weights = Float32Array.from({ length: count }, (_, index) => (index + 1) / count);
    const accumulator = new Float32Array(dimension);
    codec.accumulate(weights, block, accumulator);
    const accumulated = codec.finishAccumulator(accumulator, new Float32Array(dimension));
    for (let row = 0; row < count; row++) {
      let dot = 0;
      let scale = 0;
      for (let index = 0; index < dimension; index++) {
        dot += query[index] * decoded[row * dimension + index];
        scale += Math.abs(query[index] * decoded[row * dimension + index]);
      }
      expect(Math.abs(scores[row] - dot)).toBeLessThanOrEqual(1e-5 * scale);
    }
    for (let index = 0; index < dimension; index++) {
      let expected = 0;
      let scale = 0;
      for (let row = 0; row < count; row++) {
        expected += weights[row] * decoded[row * dimension + index];
        scale += Math.abs(weights[row] * decoded[row * dimension + index]);
      }
      expect(Math.abs(accumulated[index] - expected)).toBeLessThanOrEqual(1e-5 * scale);
    }
  });
});
