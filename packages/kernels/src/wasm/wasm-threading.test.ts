import { availableParallelism } from "node:os";
import { afterEach, describe, expect, test, vi } from "vitest";
import { KernelInputError } from "../kernel-errors.js";
import { kernelsSharedInitialPages, kernelsSharedMaximumPages, kernelsSharedWasmBase64 } from "./generated/kernels-shared-wasm.js";
import { detectThreadHost, type ThreadHost } from "./thread-host.js";
import { createWasmBackend } from "./wasm-backend.js";
import { WorkerPool } from "./worker-pool.js";

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(atob(text), (character) => character.charCodeAt(0));
}

describe("wasm backend threads", () => {
  afterEach(() => {
    vi.unstubAllGlobals();
  });

  test('"auto" takes os.availableParallelism() threads', async () => {
    const backend = createWasmBackend();
    await backend.init();
    const cores = availableParallelism();
    expect(backend.threading).toEqual(
      cores > 1 ? { threads: cores, requested: "auto", host: "worker_threads" } : { threads: 1, requested: "auto", reason: `the machine reports ${cores} core` },
    );
    backend.dispose();
  });

  test("without cross-origin isolation it falls back to one thread, says why, and still computes", async () => {
    // A browser page that is not cross-origin isolated has crossOriginIsolated === false (and no SharedArrayBuffer).
    vi.stubGlobal("crossOriginIsolated", false);
    const backend = createWasmBackend({ threads: 4 });
    await backend.init();
    expect(backend.threading?.threads).toBe(1);
    expect(backend.threading?.reason).toMatch(/not cross-origin isolated.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
    const out = await backend.kernels.matmul({ matrix: new Float32Array([1, 2, 3, 4]), vector: new Float32Array([1, 1]), rows: 2, columns: 2 });
    expect(Array.from(out)).toEqual([3, 7]);
    backend.dispose();
  });

  test("without SharedArrayBuffer the thread host is unavailable", async () => {
    vi.stubGlobal("SharedArrayBuffer", undefined);
    const host = await detectThreadHost();
    expect("unavailable" in host && host.unavailable).toMatch(/SharedArrayBuffer is unavailable/);
  });

  test("a worker that cannot start rejects WorkerPool.start (createWasmBackend then runs one thread and reports it)", async () => {
    const broken: ThreadHost = {
      kind: "worker_threads",
      parallelism: 2,
      canBlock: true,
      spawn: () => {
        throw new Error("spawn refused");
      },
    };
    const pool = WorkerPool.start({
      host: broken,
      module: new WebAssembly.Module(decodeBase64(kernelsSharedWasmBase64)),
      memory: new WebAssembly.Memory({ initial: kernelsSharedInitialPages + 1, maximum: kernelsSharedMaximumPages, shared: true }),
      exports: {},
      functions: [],
      threads: 2,
      control: 65536,
    });
    await expect(pool).rejects.toThrow(/spawn refused/);
  });

  test("invalid thread counts are typed errors", () => {
    expect(() => createWasmBackend({ threads: 0 })).toThrow(KernelInputError);
    expect(() => createWasmBackend({ threads: 1.5 })).toThrow(/whole number/);
  });

  test("the workers take chunks: over many calls every thread runs some, and every chunk runs once", async () => {
    const host = await detectThreadHost();
    if ("unavailable" in host) throw new Error(host.unavailable);
    const memory = new WebAssembly.Memory({ initial: 8, maximum: kernelsSharedMaximumPages, shared: true });
    const module = new WebAssembly.Module(decodeBase64(kernelsSharedWasmBase64));
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const control = 65536;
    const threads = 3;
    const pool = await WorkerPool.start({ host, module, memory, exports: instance.exports, functions: ["matmulRows"], threads, control });
    // 1024 rows × 64 columns of zeros (fresh memory) in 64 chunks of 16 rows. A worker that the OS
    // does not schedule (this machine's 2 cores are shared) runs none in a call, so call until every
    // thread has run some, up to 5000 calls.
    const matrix = control + WorkerPool.controlBytes(threads);
    const vector = matrix + 1024 * 64 * 4;
    const out = vector + 64 * 4;
    let calls = 0;
    while (calls < 5000 && (calls === 0 || pool.chunkCounts().some((count) => count === 0))) {
      pool.parallelFor("matmulRows", [matrix, vector, 64, out], 1024, 16);
      calls++;
    }
    const counts = pool.chunkCounts();
    expect(counts.reduce((sum, count) => sum + count, 0)).toBe(calls * 64);
    for (const count of counts) expect(count).toBeGreaterThan(0);
    pool.dispose();
  });

  test("chunks claimed from both ends cover every row once, past the claim word's 65,535 chunks too", async () => {
    const host = await detectThreadHost();
    if ("unavailable" in host) throw new Error(host.unavailable);
    const rows = 70_000;
    const memory = new WebAssembly.Memory({ initial: 32, maximum: kernelsSharedMaximumPages, shared: true });
    const module = new WebAssembly.Module(decodeBase64(kernelsSharedWasmBase64));
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const control = 65536;
    const pool = await WorkerPool.start({ host, module, memory, exports: instance.exports, functions: ["matmulRows"], threads: 2, control });
    // Row r of a rows × 1 matrix is r, the vector is [1]: out[r] = r exactly (integers below 2^24).
    const matrix = control + WorkerPool.controlBytes(2);
    const vector = matrix + rows * 4;
    const out = vector + 16;
    new Float32Array(memory.buffer, matrix, rows).forEach((_, r, view) => (view[r] = r));
    new Float32Array(memory.buffer, vector, 1)[0] = 1;
    const chunksRun = (): number => pool.chunkCounts().reduce((sum, count) => sum + count, 0);
    for (const grain of [1, 7, 4096]) {
      new Float32Array(memory.buffer, out, rows).fill(-1);
      const before = chunksRun();
      pool.parallelFor("matmulRows", [matrix, vector, 1, out], rows, grain);
      // Grain 1 would be 70,000 chunks: the pool raises it to 2 (35,000 chunks), each run once.
      expect(chunksRun() - before).toBe(Math.ceil(rows / Math.max(grain, Math.ceil(rows / 0xffff))));
      const result = new Float32Array(memory.buffer, out, rows);
      let wrong = 0;
      for (let r = 0; r < rows; r++) if (result[r] !== r) wrong++;
      expect(wrong).toBe(0);
    }
    pool.dispose();
  });

  test("a trap in a worker's chunk is an error, not a hang, and the pool keeps working", async () => {
    const host = await detectThreadHost();
    if ("unavailable" in host) throw new Error(host.unavailable);
    const memory = new WebAssembly.Memory({ initial: 2, maximum: kernelsSharedMaximumPages, shared: true });
    const module = new WebAssembly.Module(decodeBase64(kernelsSharedWasmBase64));
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const control = 65536;
    for (const dispatch of ["atomics", "message"] as const) {
      const pool = await WorkerPool.start({ host, module, memory, exports: instance.exports, functions: ["matmulRows"], threads: 2, control, dispatch });
      const matrix = control + WorkerPool.controlBytes(2);
      const vector = matrix + 64;
      const out = vector + 16;
      new Float32Array(memory.buffer, matrix, 16).set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
      new Float32Array(memory.buffer, vector, 4).fill(1);
      // Rows far past the end of memory: every chunk traps, on this thread and in the worker.
      await expect(async () => pool.parallelFor("matmulRows", [matrix, vector, 4, out], 1 << 24, 1 << 22)).rejects.toThrow();
      // 4 rows of 4 columns, one row per chunk: row sums 10, 26, 42, 58.
      await pool.parallelFor("matmulRows", [matrix, vector, 4, out], 4, 1);
      expect(Array.from(new Float32Array(memory.buffer, out, 4))).toEqual([10, 26, 42, 58]);
      expect(() => pool.parallelFor("matmul", [], 1, 1)).toThrow(/not a pool function/);
      pool.dispose();
      expect(() => pool.parallelFor("matmulRows", [matrix, vector, 4, out], 4, 1)).toThrow(/disposed/);
    }
  });
});
