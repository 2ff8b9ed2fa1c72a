import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { KernelBackend } from "../kernel-backend.js";
import type { WeightFormat } from "../kernel-inputs.js";
import { createWasmBackend } from "../wasm/wasm-backend.js";
import { conformanceCases } from "./conformance-cases.js";
import { runConformanceCase } from "./run-conformance-case.js";
import { randomWeightBlocks } from "./run-quantized-matmul-case.js";
import { gaussianArray, seededRandom } from "./seeded-random.js";

// The threaded matmuls (and attention, split by heads) split rows over workers that run the same row kernel as the single-thread
// module, so every result must be bit-identical to threads: 1 (expected values: that backend's
// output in the same test; tolerance: none). parallelMinimumWork 0 splits even the smallest calls.
// Row counts are odd and not multiples of the chunk size, so chunks end mid-way; 2–4 threads on
// this 2-core machine also covers more threads than cores.
const threadCounts = [2, 3, 4] as const;
const dispatches = ["atomics", "message"] as const;

/** Exact equality that also treats NaN bit patterns as data (toEqual would accept any NaN for any NaN). */
function expectSameBits(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  expect(Array.from(new Uint32Array(actual.buffer, actual.byteOffset, actual.length))).toEqual(
    Array.from(new Uint32Array(expected.buffer, expected.byteOffset, expected.length)),
  );
}

describe("conformance: threaded wasm kernels are bit-identical to one thread", () => {
  let single: KernelBackend;
  const threaded = new Map<string, KernelBackend>();
  beforeAll(async () => {
    single = createWasmBackend({ threads: 1 });
    await single.init();
    for (const threads of threadCounts) {
      for (const dispatch of dispatches) {
        const backend = createWasmBackend({ threads, threadDispatch: dispatch, parallelMinimumWork: 0 });
        await backend.init();
        threaded.set(`${threads}/${dispatch}`, backend);
      }
    }
  });
  afterAll(() => {
    single.dispose();
    for (const backend of threaded.values()) backend.dispose();
  });

  test("every threaded backend really runs its threads", () => {
    for (const threads of threadCounts) {
      for (const dispatch of dispatches) {
        expect(threaded.get(`${threads}/${dispatch}`)?.threading).toEqual({ threads, requested: threads, host: "worker_threads" });
      }
    }
    expect(single.threading).toEqual({ threads: 1, requested: 1, reason: "1 thread requested" });
  });

  // Columns: 576 (SmolLM2's dim, the 16-wide SIMD path), 33 (the 4-wide path plus a scalar tail).
  test.each([
    [1, 576],
    [3, 576],
    [577, 576],
    [1537, 33],
    [8191, 64],
  ])("matmul %i × %i, host and resident matrices", async (rows, columns) => {
    const random = seededRandom(rows * 7 + columns);
    const matrix = gaussianArray(random, rows * columns);
    const vector = gaussianArray(random, columns);
    const expected = await single.kernels.matmul({ matrix, vector, rows, columns });
    for (const backend of threaded.values()) {
      expectSameBits(await backend.kernels.matmul({ matrix, vector, rows, columns }), expected);
      const resident = backend.upload(matrix);
      expectSameBits(await backend.kernels.matmul({ matrix: resident, vector, rows, columns }), expected);
      resident.dispose();
    }
  });

  test.each([
    [1, 5, 576],
    [2, 577, 576],
    [5, 1537, 576],
    [7, 301, 33],
  ])("matmulBatch of %i vectors, %i × %i", async (count, rows, columns) => {
    const random = seededRandom(count * 1000 + rows + columns);
    const matrix = gaussianArray(random, rows * columns);
    const vectors = gaussianArray(random, count * columns);
    const expected = await single.kernels.matmulBatch({ matrix, vectors, count, rows, columns });
    for (const backend of threaded.values()) {
      expectSameBits(await backend.kernels.matmulBatch({ matrix, vectors, count, rows, columns }), expected);
    }
  });

  const quantizedCases: [WeightFormat, number, number][] = [
    ["q8_0", 1, 576],
    ["q8_0", 577, 576],
    ["q8_0", 4099, 64],
    ["q4_0", 3, 576],
    ["q4_0", 1537, 576],
    ["f16", 577, 576],
    ["f16", 1031, 40],
    ["q4_k", 577, 1536],
    ["q4_k", 1537, 256],
    ["q6_k", 577, 1536],
    ["q6_k", 1537, 256],
    ["q4_1", 1537, 576],
    ["q5_0", 1537, 576],
  ];
  test.each(quantizedCases)("quantizedMatmul %s %i × %i", async (format, rows, columns) => {
    const random = seededRandom(rows * 13 + columns);
    const matrix = randomWeightBlocks(random, format, rows, columns);
    const vector = gaussianArray(random, columns);
    const expected = await single.kernels.quantizedMatmul!({ matrix, format, vector, rows, columns });
    for (const backend of threaded.values()) {
      expectSameBits(await backend.kernels.quantizedMatmul!({ matrix, format, vector, rows, columns }), expected);
    }
  });

  // The whole suite (attention with GQA, capacity, token-major, every code width, the histogram
  // path, dense attention, matmul, …) with the one-thread wasm backend as the oracle at precision 0.
  test.each(conformanceCases.map((testCase) => [testCase.name, testCase] as const))("suite case %s", async (_name, testCase) => {
    for (const [key, backend] of threaded) {
      const exact = { ...backend, kernels: backend.kernels, precision: { absolute: 0, relative: 0 } };
      const outcome = await runConformanceCase(exact, single, testCase);
      expect(outcome.passed, `${key} ${outcome.name}: ${outcome.detail}`).toBe(true);
    }
  });

  test("the non-matmul kernels run on the shared module and agree with the single-thread module", async () => {
    const random = seededRandom(5);
    const input = gaussianArray(random, 576);
    const weight = gaussianArray(random, 576);
    const expected = await single.kernels.rmsNorm({ input, weight, epsilon: 1e-5 });
    for (const backend of threaded.values()) expectSameBits(await backend.kernels.rmsNorm({ input, weight, epsilon: 1e-5 }), expected);
  });

  test("resident arrays survive the shared memory growing while workers exist", async () => {
    const backend = threaded.get("2/atomics")!;
    const rows = 577;
    const columns = 576;
    const random = seededRandom(11);
    const matrix = gaussianArray(random, rows * columns);
    const vector = gaussianArray(random, columns);
    const resident = backend.upload(matrix);
    const big = backend.allocate("float32", 8_000_000); // grows the shared memory by 32 MB
    const later = backend.upload(matrix); // placed above the growth: workers must see the new pages
    const expected = await single.kernels.matmul({ matrix, vector, rows, columns });
    expectSameBits(await backend.kernels.matmul({ matrix: resident, vector, rows, columns }), expected);
    expectSameBits(await backend.kernels.matmul({ matrix: later, vector, rows, columns }), expected);
    for (const array of [resident, big, later]) array.dispose();
  });
});
