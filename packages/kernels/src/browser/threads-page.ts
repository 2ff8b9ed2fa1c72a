// Browser entry of the Chromium threads test: bundled by esbuild, served with or without COOP/COEP.
// Runs the wasm matmuls on one thread and on three (Web Workers over a shared memory, this page's
// main thread polling), compares the bits, and publishes the outcome on window for playwright.
import type { KernelBackend } from "../kernel-backend.js";
import { randomWeightBlocks } from "../conformance/run-quantized-matmul-case.js";
import { gaussianArray, seededRandom } from "../conformance/seeded-random.js";
import { createWasmBackend } from "../wasm/wasm-backend.js";

interface ThreadsPageResults {
  readonly crossOriginIsolated: boolean;
  readonly threading: Array<KernelBackend["threading"]>;
  /** Per case and threaded backend: the output's bits equal one thread's. */
  readonly identical: Record<string, boolean>;
  readonly error?: string;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  const left = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const right = new Uint32Array(b.buffer, b.byteOffset, b.length);
  return left.length === right.length && left.every((bits, index) => bits === right[index]);
}

async function main(): Promise<ThreadsPageResults> {
  const single = createWasmBackend({ threads: 1 });
  const threaded = [
    createWasmBackend({ threads: 3, parallelMinimumWork: 0 }),
    createWasmBackend({ threads: 3, parallelMinimumWork: 0, threadDispatch: "message" }),
  ];
  for (const backend of [single, ...threaded]) await backend.init();
  const random = seededRandom(3);
  const rows = 1537;
  const columns = 576;
  const matrix = gaussianArray(random, rows * columns);
  const vectors = gaussianArray(random, 3 * columns);
  const vector = vectors.subarray(0, columns);
  const blocks = randomWeightBlocks(random, "q8_0", rows, columns);
  const cases: Record<string, (backend: KernelBackend) => Promise<Float32Array>> = {
    matmul: (backend) => backend.kernels.matmul({ matrix, vector, rows, columns }),
    matmulBatch: (backend) => backend.kernels.matmulBatch({ matrix, vectors, count: 3, rows, columns }),
    "quantizedMatmul q8_0": (backend) => backend.kernels.quantizedMatmul!({ matrix: blocks, format: "q8_0", vector, rows, columns }),
  };
  const identical: Record<string, boolean> = {};
  for (const [name, run] of Object.entries(cases)) {
    const expected = await run(single);
    for (const [index, backend] of threaded.entries()) identical[`${name} #${index}`] = sameBits(await run(backend), expected);
  }
  const threading = [single, ...threaded].map((backend) => backend.threading);
  for (const backend of [single, ...threaded]) backend.dispose();
  return { crossOriginIsolated: self.crossOriginIsolated, threading, identical };
}

const target = window as unknown as { threadsResults?: ThreadsPageResults };
main().then(
  (results) => (target.threadsResults = results),
  (error: unknown) => (target.threadsResults = { crossOriginIsolated: self.crossOriginIsolated, threading: [], identical: {}, error: String(error) }),
);
