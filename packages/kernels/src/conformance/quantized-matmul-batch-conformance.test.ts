import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { KernelBackend } from "../kernel-backend.js";
import type { WeightFormat } from "../kernel-inputs.js";
import { createTypeScriptBackend } from "../ts/typescript-backend.js";
import { createWasmBackend } from "../wasm/wasm-backend.js";
import { randomWeightBlocks } from "./run-quantized-matmul-case.js";
import { gaussianArray, seededRandom } from "./seeded-random.js";

// quantizedMatmulBatch promises, per vector, exactly what quantizedMatmul gives on the same backend
// (expected values: that backend's quantizedMatmul on each vector in the same test; tolerance:
// none, bit for bit), whatever the batch size: counts cover the four-vector tile, its remainders
// and a prefill chunk (64). The threaded module splits rows over workers running the same kernels.

function bits(values: Float32Array): number[] {
  return Array.from(new Uint32Array(values.buffer, values.byteOffset, values.length));
}

const formats: readonly WeightFormat[] = ["q8_0", "q4_0", "q4_1", "q5_0", "q4_k", "q6_k", "f16"];
const counts = [1, 3, 4, 7, 64] as const;

async function expectBatchEqualsPerVector(backend: KernelBackend, format: WeightFormat, count: number, resident: boolean): Promise<void> {
  const random = seededRandom(1000 + count * 7 + formats.indexOf(format));
  const columns = format === "q4_k" || format === "q6_k" ? 512 : 576;
  const rows = 37;
  const bytes = randomWeightBlocks(random, format, rows, columns);
  const matrix = resident ? backend.upload(bytes) : bytes;
  const vectors = gaussianArray(random, count * columns);
  const batch = await backend.kernels.quantizedMatmulBatch!({ matrix, format, vectors, count, rows, columns });
  expect(batch.length).toBe(count * rows);
  for (let v = 0; v < count; v++) {
    const single = await backend.kernels.quantizedMatmul!({ matrix, format, vector: vectors.subarray(v * columns, (v + 1) * columns), rows, columns });
    expect(bits(batch.subarray(v * rows, (v + 1) * rows)), `${format} vector ${v} of ${count}`).toEqual(bits(single));
  }
  if (resident) (matrix as { dispose(): void }).dispose();
}

describe("conformance: quantizedMatmulBatch equals quantizedMatmul per vector", () => {
  const backends = new Map<string, KernelBackend>();
  beforeAll(async () => {
    backends.set("ts", createTypeScriptBackend());
    backends.set("wasm", createWasmBackend({ threads: 1 }));
    backends.set("wasm 2 threads", createWasmBackend({ threads: 2, parallelMinimumWork: 0 }));
    for (const backend of backends.values()) await backend.init();
  });
  afterAll(() => {
    for (const backend of backends.values()) backend.dispose();
  });

  test.each(["ts", "wasm", "wasm 2 threads"])("%s: every format and batch size, host and resident weights", async (name) => {
    const backend = backends.get(name)!;
    for (const format of formats) {
      for (const count of counts) {
        if (name === "ts" && count === 64) continue; // the float64 oracle is slow; 1–7 cover its loop.
        await expectBatchEqualsPerVector(backend, format, count, count % 2 === 1);
      }
    }
  });

  test("names the argument that is wrong", async () => {
    const backend = backends.get("wasm")!;
    const matrix = new Uint8Array(34);
    const call = (count: number, vectors: Float32Array) => backend.kernels.quantizedMatmulBatch!({ matrix, format: "q8_0", vectors, count, rows: 1, columns: 32 });
    await expect(call(0, new Float32Array(0))).rejects.toThrow(/quantizedMatmulBatch: count must be a positive integer/);
    await expect(call(2, new Float32Array(32))).rejects.toThrow(/quantizedMatmulBatch: vectors/);
    await expect(call(1, new Float32Array(32).fill(Number.NaN))).rejects.toThrow(/quantizedMatmulBatch: vectors/);
    await expect(backend.kernels.quantizedMatmulBatch!({ matrix, format: "q8_0", vectors: new Float32Array(64), count: 2, rows: 1, columns: 32, out: new Float32Array(3) })).rejects.toThrow(/quantizedMatmulBatch: out/);
    await expect(backend.kernels.quantizedMatmul!({ matrix, format: "q8_0", vector: new Float32Array(32), rows: 1, columns: 32, out: new Float32Array(2) })).rejects.toThrow(/quantizedMatmul: out/);
  });

  // Expected: the same call without `out` (bits), written into the given array, which is returned.
  test.each(["ts", "wasm", "wasm 2 threads"])("%s: `out` receives the same bits and is what comes back", async (name) => {
    const backend = backends.get(name)!;
    const random = seededRandom(77);
    const rows = 37;
    const columns = 576;
    for (const format of ["q8_0", "q5_0"] as const) {
      const matrix = backend.upload(randomWeightBlocks(random, format, rows, columns));
      const vectors = gaussianArray(random, 5 * columns);
      const out = new Float32Array(5 * rows).fill(Number.NaN);
      const batch = await backend.kernels.quantizedMatmulBatch!({ matrix, format, vectors, count: 5, rows, columns, out });
      expect(batch).toBe(out);
      expect(bits(out)).toEqual(bits(await backend.kernels.quantizedMatmulBatch!({ matrix, format, vectors, count: 5, rows, columns })));
      const single = new Float32Array(rows);
      expect(await backend.kernels.quantizedMatmul!({ matrix, format, vector: vectors.subarray(0, columns), rows, columns, out: single })).toBe(single);
      expect(bits(single)).toEqual(bits(out.subarray(0, rows)));
      matrix.dispose();
    }
  });
});
