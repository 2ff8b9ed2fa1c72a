import { describe, expect, it } from "vitest";
import type { CodecSpec, EncodedBlock } from "./codec.js";
import { CodecError } from "./codec-error.js";
import { createCodec } from "./create-codec.js";
import type { Fp16Codec } from "./float-codecs.js";
import { toHalfBits } from "./half-float.js";
import { kernelCodecView } from "./kernel-view.js";
import { kvLikeVectors, randomUnitVectors } from "./testing/test-vectors.js";

/** Every codec × a few shapes: the contract of codec.ts, checked against decode() as the reference. */
const specs: CodecSpec[] = [
  { kind: "fp32", dimension: 64 },
  { kind: "fp16", dimension: 64 },
  { kind: "int8", dimension: 64 },
  { kind: "int8", dimension: 7 },
  { kind: "kivi", dimension: 64, bits: 2, role: "key" },
  { kind: "kivi", dimension: 64, bits: 4, role: "key" },
  { kind: "kivi", dimension: 64, bits: 2, role: "value" },
  { kind: "kivi", dimension: 40, bits: 4, role: "value" },
  { kind: "quarot", dimension: 64 },
  { kind: "quarot", dimension: 96, bits: 2 },
  { kind: "quarot", dimension: 20, bits: 3 },
  { kind: "turboquant", dimension: 64, bits: 2 },
  { kind: "fibquant", dimension: 64, bits: 2, blockSize: 2 },
  { kind: "fibquant", dimension: 96, bits: 0.75, blockSize: 4, norm: "log8" },
  { kind: "fibquant", dimension: 8, bits: 1.5, blockSize: 2, norm: "bf16" },
  { kind: "fibquant", dimension: 128, bits: 1, blockSize: 8, norm: "fp32" },
  { kind: "turboquant", dimension: 128, bits: 4, norm: "log8" },
  { kind: "turboquant", dimension: 96, bits: 3, norm: "bf16" },
  { kind: "turboquant", dimension: 24, bits: 1, norm: "fp32" },
  { kind: "turboquant", dimension: 8, bits: 3, norm: "log8", center: true },
  { kind: "fibquant", dimension: 16, bits: 2.5, blockSize: 2, norm: "log8", center: true },
  { kind: "fibquant", dimension: 8, bits: 2, blockSize: 2, norm: "log6", center: true, rescale: true },
  { kind: "turboquant", dimension: 12, bits: 2, norm: "log4", rescale: true },
  { kind: "q8_0", dimension: 64 },
  { kind: "q4_0", dimension: 64 },
  { kind: "q4_1", dimension: 128 },
  { kind: "q5_0", dimension: 64 },
  { kind: "q4_0", dimension: 40 },
  { kind: "q5_0", dimension: 8 },
  { kind: "q8_0", dimension: 7 },
  { kind: "q4_1", dimension: 9 },
];

function label(spec: CodecSpec): string {
  return JSON.stringify(spec);
}

/** Σ|a_j·b_j|: the scale against which a rounding error in a dot product is relative. */
function absoluteDot(a: ArrayLike<number>, b: ArrayLike<number>, offset: number, length: number): number {
  let sum = 0;
  for (let index = 0; index < length; index++) sum += Math.abs(a[index] * b[offset + index]);
  return sum;
}

describe.each(specs.map((spec) => [label(spec), spec] as const))("codec %s", (_, spec) => {
  const codec = createCodec(spec);
  const dimension = spec.dimension;
  // 45 rows: not a multiple of KIVI's 32-token group, so a partial group is always exercised.
  const count = 45;
  const vectors = kvLikeVectors(count, dimension, 11);
  vectors.fill(0, 5 * dimension, 6 * dimension); // row 5 is a zero vector
  const block = codec.encode(vectors, count, dimension);
  const decoded = codec.decode(block);

  it("stores exactly encodedByteLength bytes and reports all-in bits per element", () => {
    expect(block.data.length).toBe(codec.encodedByteLength(count));
    expect(codec.bitsPerElement(count)).toBeCloseTo((block.data.length * 8) / (count * dimension), 12);
    expect(block.codecId).toBe(codec.codecId);
  });

  it("decodeRow(i) equals row i of decode() bit for bit", () => {
    const row = new Float32Array(dimension);
    for (let index = 0; index < count; index++) {
      codec.decodeRow(block, index, row);
      expect(Array.from(row)).toEqual(Array.from(decoded.subarray(index * dimension, (index + 1) * dimension)));
    }
  });

  it("round-trips through bytes alone with a codec rebuilt from the spec", () => {
    const again = createCodec(JSON.parse(JSON.stringify(codec.spec)) as CodecSpec);
    expect(again.codecId).toBe(codec.codecId);
    const copy: EncodedBlock = { codecId: again.codecId, count, dimension, data: Uint8Array.from(block.data) };
    expect(Array.from(again.decode(copy))).toEqual(Array.from(decoded));
    // Encoding is deterministic: same input, same bytes.
    expect(Array.from(again.encode(vectors, count, dimension).data)).toEqual(Array.from(block.data));
  });

  it("decodes a zero vector to exact zeros (KIVI keys: within half a step of the shared channel scale)", () => {
    if (spec.kind === "kivi" && spec.role === "key") {
      // Keys share per-channel (scale, zero) across the 32-token group, so zero is only a quantization level
      // away: |x̂ − 0| ≤ step/2 with step = (max − min)/(2^b − 1) over rows 0..31, plus fp16 rounding of scale/zero.
      for (let column = 0; column < dimension; column++) {
        let minimum = Infinity;
        let maximum = -Infinity;
        for (let row = 0; row < 32; row++) {
          minimum = Math.min(minimum, vectors[row * dimension + column]);
          maximum = Math.max(maximum, vectors[row * dimension + column]);
        }
        const step = (maximum - minimum) / (2 ** spec.bits - 1);
        expect(Math.abs(decoded[5 * dimension + column])).toBeLessThanOrEqual(step / 2 + 2e-3 * (Math.abs(minimum) + step * 2 ** spec.bits));
      }
      return;
    }
    // Centered codecs quantize x − μ, so a zero row is only as exact as any other row (centered-codec.test.ts).
    if ((spec.kind === "turboquant" || spec.kind === "fibquant") && spec.center) return;
    for (let column = 0; column < dimension; column++) expect(decoded[5 * dimension + column]).toBe(0);
  });

  it("scores() equals q·decode() within 1e-5 relative (raw and prepared queries)", () => {
    const query = randomUnitVectors(1, dimension, 3);
    const raw = codec.scores(query, block);
    const prepared = codec.scores(codec.prepareQuery(query), block);
    for (let row = 0; row < count; row++) {
      let reference = 0;
      for (let column = 0; column < dimension; column++) reference += query[column] * decoded[row * dimension + column];
      // Tolerance: 1e-5 of Σ|q_j·x̂_j| (float32 storage of x̂ and the rotation round at ~1e-7 of that scale).
      const tolerance = 1e-5 * absoluteDot(query, decoded, row * dimension, dimension) + 1e-30;
      expect(Math.abs(raw[row] - reference)).toBeLessThanOrEqual(tolerance);
      expect(prepared[row]).toBe(raw[row]);
    }
  });

  it("accumulate + finishAccumulator equals Σ w·decode within 1e-5 relative", () => {
    const weights = new Float32Array(count).map((_, index) => ((index * 7) % 11) / 11);
    const accumulator = new Float32Array(dimension);
    codec.accumulate(weights, block, accumulator);
    const result = codec.finishAccumulator(accumulator, new Float32Array(dimension));
    for (let column = 0; column < dimension; column++) {
      let reference = 0;
      let scale = 0;
      for (let row = 0; row < count; row++) {
        reference += weights[row] * decoded[row * dimension + column];
        scale += Math.abs(weights[row] * decoded[row * dimension + column]);
      }
      let rowScale = 0;
      for (let row = 0; row < count; row++) rowScale += Math.abs(weights[row]) * Math.abs(decoded[row * dimension + column]);
      // Float32 accumulation over 45 rows plus one rotation: 1e-5 of the summed magnitudes (and of the row norms for rotated codecs).
      expect(Math.abs(result[column] - reference)).toBeLessThanOrEqual(1e-5 * (scale + rowScale) + 1e-5 * maxRowNorm(decoded, count, dimension));
    }
  });

  it("handles empty and single-row blocks", () => {
    const empty = codec.encode(new Float32Array(0), 0, dimension);
    expect(empty.data.length).toBe(codec.encodedByteLength(0));
    expect(codec.decode(empty).length).toBe(0);
    expect(codec.scores(new Float32Array(dimension), empty).length).toBe(0);
    const single = codec.encode(vectors.subarray(0, dimension), 1, dimension);
    const row = codec.decode(single);
    expect(Array.from(codec.decodeRow(single, 0))).toEqual(Array.from(row));
    // One row alone: relative error stays below 1 (the codec keeps the direction; 1-bit codes are the coarsest here).
    let error = 0;
    let energy = 0;
    for (let column = 0; column < dimension; column++) {
      error += (row[column] - vectors[column]) ** 2;
      energy += vectors[column] ** 2;
    }
    expect(error / energy).toBeLessThan(1);
  });

  it("rejects NaN, Infinity, wrong dimensions, short inputs and foreign blocks with CodecError", () => {
    const bad = vectors.slice();
    bad[3] = Number.NaN;
    expectCodecError(() => codec.encode(bad, count, dimension), "non-finite");
    bad[3] = Number.POSITIVE_INFINITY;
    expectCodecError(() => codec.encode(bad, count, dimension), "non-finite");
    expectCodecError(() => codec.encode(vectors, count, dimension + 1), "wrong-length");
    expectCodecError(() => codec.encode(vectors.subarray(0, dimension), 2, dimension), "wrong-length");
    expectCodecError(() => codec.decode({ ...block, codecId: "other" }), "codec-mismatch");
    expectCodecError(() => codec.decode({ ...block, data: block.data.subarray(0, block.data.length - 1) }), "corrupt-block");
    expectCodecError(() => codec.decodeRow(block, count), "wrong-length");
    expectCodecError(() => codec.scores(new Float32Array(dimension + 1), block), "wrong-length");
  });
});

function maxRowNorm(decoded: Float32Array, count: number, dimension: number): number {
  let largest = 0;
  for (let row = 0; row < count; row++) {
    let squared = 0;
    for (let column = 0; column < dimension; column++) squared += decoded[row * dimension + column] ** 2;
    largest = Math.max(largest, Math.sqrt(squared));
  }
  return largest;
}

function expectCodecError(action: () => unknown, code: string): void {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(CodecError.isInstance(caught), `expected CodecError ${code}, got ${String(caught)}`).toBe(true);
  expect((caught as CodecError).code).toBe(code);
}

describe("createCodec", () => {
  it("rejects unsupported rates, dimensions and kinds", () => {
    expectCodecError(() => createCodec({ kind: "kivi", dimension: 64, bits: 3 as 2, role: "key" }), "unsupported-rate");
    expectCodecError(() => createCodec({ kind: "turboquant", dimension: 64, bits: 0 }), "unsupported-rate");
    expectCodecError(() => createCodec({ kind: "turboquant", dimension: 64, bits: 2.5 }), "unsupported-rate");
    expectCodecError(() => createCodec({ kind: "quarot", dimension: 0 }), "unsupported-dimension");
    expectCodecError(() => createCodec({ kind: "fp16", dimension: 1.5 }), "unsupported-dimension");
    expectCodecError(() => createCodec({ kind: "turboquant", dimension: 64, bits: 2, norm: "fp8" as "fp16" }), "invalid-spec");
    expectCodecError(() => createCodec({ kind: "nope" } as unknown as CodecSpec), "invalid-spec");
  });

  it("rejects fp16 overflow instead of storing Infinity", () => {
    const codec = createCodec({ kind: "fp16", dimension: 2 });
    expectCodecError(() => codec.encode(new Float32Array([1, 70000]), 1, 2), "out-of-range");
  });

  it("gives fp16 blocks' half bits as stored: toHalfBits of every decoded value, and checks the block", () => {
    const codec = createCodec({ kind: "fp16", dimension: 8 });
    const values = new Float32Array(5 * 8).map((_, i) => Math.sin(i * 0.7) * 1000 * 0.5 ** (i % 30));
    const block = codec.encode(values, 5, 8);
    const decoded = codec.decode(block);
    const view = kernelCodecView(codec);
    if (view?.kind !== "dense" || view.halfBits === undefined) throw new Error("fp16's kernel view has no halfBits");
    expect(Array.from(view.halfBits(block))).toEqual(Array.from(decoded, (value) => toHalfBits(value)));
    expectCodecError(() => (codec as Fp16Codec).halfBits({ ...block, count: 4 }), "corrupt-block");
  });

  it("gives KIVI keys a token group and values none", () => {
    expect(createCodec({ kind: "kivi", dimension: 64, bits: 2, role: "key" }).tokenGroup).toBe(32);
    expect(createCodec({ kind: "kivi", dimension: 64, bits: 2, role: "value" }).tokenGroup).toBe(1);
  });
});
