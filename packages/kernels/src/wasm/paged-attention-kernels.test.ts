import { createCodec, fromHalfBits, kernelCodecView, type Codec, type TableCodecView } from "@kvpack/codecs";
import { beforeAll, describe, expect, it } from "vitest";
import { createPagedAttentionKernels, type PagedAttentionKernels } from "./paged-attention-kernels.js";

const dimension = 64;
const rows = 40;
const heads = 3;

function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

function vectors(count: number, seed: number, offset = 0): Float32Array {
  const next = random(seed);
  return Float32Array.from({ length: count * dimension }, () => 2 * next() + offset);
}

/** softmax(scale · q·k̂)·v̂ per head from the codec's own TypeScript scores and decode (float64 sums). */
function reference(keyCodec: Codec, valueCodec: Codec, keys: Float32Array, values: Float32Array, queries: Float32Array, live: Uint8Array, scale: number): Float64Array {
  const keyBlock = keyCodec.encode(keys, rows, dimension);
  const decodedValues = valueCodec.decode(valueCodec.encode(values, rows, dimension));
  const out = new Float64Array(heads * dimension);
  for (let head = 0; head < heads; head++) {
    const scores = keyCodec.scores(queries.subarray(head * dimension, (head + 1) * dimension), keyBlock);
    let maximum = -Infinity;
    for (let row = 0; row < rows; row++) if (live[row]) maximum = Math.max(maximum, scores[row] * scale);
    let sum = 0;
    const weights = new Float64Array(rows);
    for (let row = 0; row < rows; row++) {
      weights[row] = live[row] ? Math.exp(scores[row] * scale - maximum) : 0;
      sum += weights[row];
    }
    for (let row = 0; row < rows; row++) {
      for (let i = 0; i < dimension; i++) out[head * dimension + i] += (weights[row] / sum) * decodedValues[row * dimension + i];
    }
  }
  return out;
}

/**
 * The same through the kernels: rotate + scale queries into lanes, scores, softmax, accumulate,
 * finish; table codecs through the byte tables, or with `codeLevel` through the code-level ones.
 */
function viaKernels(
  kernels: PagedAttentionKernels, keyCodec: Codec, valueCodec: Codec, keys: Float32Array, values: Float32Array, queries: Float32Array, live: Uint8Array, scale: number,
  codeLevel = false,
): Float64Array {
  const heap = kernels.heap;
  const keyView = kernelCodecView(keyCodec);
  const valueView = kernelCodecView(valueCodec);
  if (keyView === undefined || valueView === undefined) throw new Error("no kernel view");
  const queryLanes = new Float32Array(dimension * 4);
  const rotated = new Float32Array(dimension);
  for (let head = 0; head < heads; head++) {
    const query = queries.subarray(head * dimension, (head + 1) * dimension);
    if (keyView.kind === "table") keyView.rotate(query, rotated);
    else rotated.set(query);
    for (let i = 0; i < dimension; i++) queryLanes[i * 4 + head] = rotated[i] * scale;
  }
  const put = (data: Float32Array | Uint8Array | Int32Array): number => {
    const pointer = heap.allocate(data.byteLength);
    heap.uint8(pointer, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    return pointer;
  };
  const queryPointer = put(queryLanes);
  const livePointer = put(live);
  const segments = put(Int32Array.of(0, rows));
  const scores = heap.allocate(rows * 16);
  const result = heap.allocate(32);
  const accumulator = heap.allocate(dimension * 16);
  if (keyView.kind === "table" && codeLevel) {
    const keyRows = keyView.rows(keyCodec.encode(keys, rows, dimension));
    const blockTable = heap.allocate(keyView.codesPerRow * keyView.radix * 16);
    kernels.tableBlockTable(queryPointer, put(keyView.codewords), keyView.codesPerRow, keyView.blockSize, keyView.radix, blockTable);
    kernels.tableScoreCodeRows(
      queryPointer, dimension, blockTable, put(keyRows.codes), keyView.rowBytes, keyView.bitWidth, keyView.codesPerRow, keyView.radix,
      put(keyRows.norms), keyRows.mean ? put(keyRows.mean) : 0, livePointer, rows, scores,
    );
  } else if (keyView.kind === "table") {
    const keyRows = keyView.rows(keyCodec.encode(keys, rows, dimension));
    kernels.tableScores(
      queryPointer, dimension, put(keyRows.codes), keyView.rowBytes, keyView.bitWidth, keyView.codesPerRow, keyView.blockSize,
      keyView.radix, put(keyView.codewords), put(keyRows.norms), livePointer, 1, segments, keyRows.mean ? put(keyRows.mean) : 0,
      heap.allocate(keyView.codesPerRow * keyView.radix * 16), heap.allocate(keyView.rowBytes * 4096), scores,
    );
  } else {
    kernels.denseScores(queryPointer, dimension, put(keyView.rows(keyCodec.encode(keys, rows, dimension))), livePointer, rows, scores);
  }
  kernels.softmaxPartial(scores, rows, result);
  const finished = new Float32Array(dimension);
  const laneAccumulator = new Float32Array(dimension);
  if (valueView.kind === "table" && codeLevel) {
    const valueRows = valueView.rows(valueCodec.encode(values, rows, dimension));
    const histogram = heap.allocate(valueView.codesPerRow * valueView.radix * 16);
    heap.uint8(histogram, valueView.codesPerRow * valueView.radix * 16).fill(0);
    heap.uint8(accumulator, dimension * 16).fill(0);
    const codewords = put(valueView.codewords);
    kernels.tableCodeHistogramRows(
      scores, dimension, put(valueRows.codes), valueView.rowBytes, valueView.bitWidth, valueView.codesPerRow, valueView.radix,
      put(valueRows.norms), valueRows.mean ? put(valueRows.mean) : 0, rows, histogram, accumulator,
    );
    kernels.tableCodeExpand(histogram, valueView.codesPerRow, valueView.blockSize, valueView.radix, codewords, accumulator);
    // The expand leaves the histogram cleared for the next query.
    if (heap.float32(histogram, valueView.codesPerRow * valueView.radix * 4).some((bin) => bin !== 0)) throw new Error("tableCodeExpand left bins set");
  } else if (valueView.kind === "table") {
    const valueRows = valueView.rows(valueCodec.encode(values, rows, dimension));
    kernels.tableAccumulate(
      scores, dimension, put(valueRows.codes), valueView.rowBytes, valueView.bitWidth, valueView.codesPerRow, valueView.blockSize,
      valueView.radix, put(valueView.codewords), put(valueRows.norms), 1, segments, valueRows.mean ? put(valueRows.mean) : 0,
      heap.allocate(valueView.rowBytes * 4096), accumulator,
    );
  } else {
    kernels.denseAccumulate(scores, dimension, put(valueView.rows(valueCodec.encode(values, rows, dimension))), rows, accumulator);
  }
  const sums = heap.float32(result, 8);
  const lanesOut = heap.float32(accumulator, dimension * 4);
  const out = new Float64Array(heads * dimension);
  for (let head = 0; head < heads; head++) {
    for (let i = 0; i < dimension; i++) laneAccumulator[i] = lanesOut[i * 4 + head];
    const mapped = valueView.kind === "table" ? (valueView as TableCodecView).finish(laneAccumulator, finished) : laneAccumulator;
    for (let i = 0; i < dimension; i++) out[head * dimension + i] = mapped[i] / sums[4 + head];
  }
  return out;
}

const cases: Array<[string, Codec, Codec]> = [
  ["TurboQuant 4/4", createCodec({ kind: "turboquant", dimension, bits: 4 }), createCodec({ kind: "turboquant", dimension, bits: 4 })],
  ["FibQuant k=2 2/2", createCodec({ kind: "fibquant", dimension, bits: 2, blockSize: 2 }), createCodec({ kind: "fibquant", dimension, bits: 2, blockSize: 2 })],
  [
    "FibQuant centered 3/3",
    createCodec({ kind: "fibquant", dimension, bits: 3, blockSize: 2, center: true }),
    createCodec({ kind: "fibquant", dimension, bits: 3, blockSize: 2, center: true }),
  ],
  ["TurboQuant 2 centered / fp16", createCodec({ kind: "turboquant", dimension, bits: 2, center: true }), createCodec({ kind: "fp16", dimension })],
  ["fp32 / FibQuant", createCodec({ kind: "fp32", dimension }), createCodec({ kind: "fibquant", dimension, bits: 2, blockSize: 2 })],
  ["fp32 / fp32", createCodec({ kind: "fp32", dimension }), createCodec({ kind: "fp32", dimension })],
];

describe("paged-attention WASM kernels", () => {
  let kernels: PagedAttentionKernels;
  beforeAll(async () => {
    kernels = await createPagedAttentionKernels();
  });

  const modes = cases.flatMap(([name, keyCodec, valueCodec]) => [
    [`${name}, byte tables`, keyCodec, valueCodec, false],
    [`${name}, code-level tables`, keyCodec, valueCodec, true],
  ] as Array<[string, Codec, Codec, boolean]>);

  it.each(modes)("%s: GQA lanes with dropped rows match the codec's TypeScript scores and decode", (_name, keyCodec, valueCodec, codeLevel) => {
    // Keys carry a shared offset (+1.5) so centered codecs have a mean to remove.
    const keys = vectors(rows, 1, 1.5);
    const values = vectors(rows, 2);
    const queries = vectors(heads, 3);
    const live = new Uint8Array(rows).fill(1);
    live[3] = 0;
    live[17] = 0;
    const scale = 1 / Math.sqrt(dimension);
    const expected = reference(keyCodec, valueCodec, keys, values, queries, live, scale);
    const actual = viaKernels(kernels, keyCodec, valueCodec, keys, values, queries, live, scale, codeLevel);
    // float32 tables / sums in a different order against float64: outputs are O(0.1–1), so 2e-4
    // absolute is ~10 float32 ulps of accumulated rounding over 40 rows × 64 codes.
    for (let i = 0; i < expected.length; i++) expect(Math.abs(actual[i] - expected[i])).toBeLessThan(2e-4);
    // A dropped row takes no weight: perturbing its value changes nothing (not for centered values,
    // whose block mean, and so every row, moves with it).
    if ((valueCodec.spec as { center?: boolean }).center) return;
    const perturbed = values.slice();
    for (let i = 0; i < dimension; i++) perturbed[3 * dimension + i] += 5;
    const again = viaKernels(kernels, keyCodec, valueCodec, keys, perturbed, queries, live, scale, codeLevel);
    for (let i = 0; i < expected.length; i++) expect(Math.abs(again[i] - actual[i])).toBeLessThan(1e-6);
  });
});

describe("fp16 dense kernels", () => {
  it("widen every finite half exactly (normals, subnormals, ±0): scores against one-hot queries", async () => {
    const kernels = await createPagedAttentionKernels();
    const heap = kernels.heap;
    // Every half bit pattern with exponent < 31, four per row of dimension 4.
    const finite: number[] = [];
    for (let bits = 0; bits < 65536; bits++) if (((bits >> 10) & 31) !== 31) finite.push(bits);
    const rowCount = finite.length / 4;
    const keys = heap.allocate(finite.length * 2);
    const live = heap.allocate(rowCount);
    const queries = heap.allocate(4 * 16);
    const scores = heap.allocate(rowCount * 16);
    heap.uint16(keys, finite.length).set(finite);
    heap.uint8(live, rowCount).fill(1);
    // Lane l reads dimension l alone.
    const oneHot = heap.float32(queries, 16);
    oneHot.fill(0);
    for (let lane = 0; lane < 4; lane++) oneHot[lane * 4 + lane] = 1;
    kernels.denseScoresHalf(queries, 4, keys, live, rowCount, scores);
    const result = heap.float32(scores, rowCount * 4);
    let mismatches = 0;
    for (let index = 0; index < finite.length; index++) {
      // Sums of one product and zeros: exact, except that −0 · 1 + 0 reads +0.
      const expected = fromHalfBits(finite[index]);
      if (result[index] !== expected && !(expected === 0 && result[index] === 0)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});
