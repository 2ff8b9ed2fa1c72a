import { describe, expect, test } from "vitest";
import { KernelInputError } from "../kernel-errors.js";
import { createTypeScriptBackend } from "../ts/typescript-backend.js";
import { createWasmBackend } from "./wasm-backend.js";
import { WasmHeap } from "./wasm-heap.js";

describe("wasm backend specifics", () => {
  test("a code outside the codebook decodes and scores to NaN, never a plausible number", async () => {
    const backend = createWasmBackend();
    await backend.init();
    const rows = { codes: new Uint8Array([0, 5]), norms: new Float32Array([1]), codebook: { codewords: new Float32Array([1, 2, 3, 4]), blockSize: 2 } };
    const decoded = await backend.kernels.decode({ rows, count: 1, dimension: 4 });
    expect(Array.from(decoded.subarray(0, 2))).toEqual([1, 2]);
    expect(Number.isNaN(decoded[2])).toBe(true);
    const scores = await backend.kernels.scores({ query: new Float32Array(4).fill(1), keys: rows, count: 1, dimension: 4 });
    expect(Number.isNaN(scores[0])).toBe(true);
    // Packed 4-bit: the byte 0x50 holds codes 0 and 5 (5 ≥ size 2).
    const packed = { ...rows, codes: new Uint8Array([0x50]), bitWidth: 4 as const };
    const packedScores = await backend.kernels.scores({ query: new Float32Array(4).fill(1), keys: packed, count: 1, dimension: 4 });
    expect(Number.isNaN(packedScores[0])).toBe(true);
  });

  test("resident arrays survive memory growth and can be appended to in place", async () => {
    const backend = createWasmBackend();
    await backend.init();
    const weights = backend.upload(new Float32Array([1, 2, 3]));
    const big = backend.allocate("float32", 4_000_000); // forces memory.grow
    big.write(new Float32Array([7, 8]), 3_999_998);
    expect(Array.from((await big.read()).subarray(3_999_998))).toEqual([7, 8]);
    const out = await backend.kernels.matmul({ matrix: weights, vector: new Float32Array([1, 1, 1]), rows: 1, columns: 3 });
    expect(out[0]).toBe(6);
    big.dispose();
    weights.dispose();
  });

  test("resident arrays of another backend, wrong types and overflowing writes are typed errors", async () => {
    const backend = createWasmBackend();
    await backend.init();
    const foreign = createTypeScriptBackend().upload(new Float32Array(4));
    await expect(backend.kernels.matmul({ matrix: foreign, vector: new Float32Array(2), rows: 2, columns: 2 })).rejects.toThrow(
      /resident on backend "ts", not "wasm"/,
    );
    const codes = backend.upload(new Float32Array(2));
    await expect(
      backend.kernels.decode({ rows: { codes, norms: new Float32Array(1), codebook: { codewords: new Float32Array(4), blockSize: 2 } }, count: 1, dimension: 2 }),
    ).rejects.toThrow(KernelInputError);
    expect(() => codes.write(new Float32Array(3), 0)).toThrow(/overflows/);
    codes.dispose();
    await expect(codes.read()).rejects.toThrow(/disposed/);
  });

  test("heap reuses freed space and coalesces neighbours", () => {
    const memory = new WebAssembly.Memory({ initial: 1 });
    const heap = new WasmHeap(memory, 1024);
    const a = heap.allocate(100);
    const b = heap.allocate(100);
    const c = heap.allocate(100);
    heap.free(a);
    heap.free(b);
    // a and b coalesce into one 224-byte block (two 112-byte aligned slots), which fits 200 bytes.
    expect(heap.allocate(200)).toBe(a);
    // Freeing c (the top block) merges it with the 16-byte leftover and lowers the top: the next
    // allocation starts right after the 208-byte block at a.
    heap.free(c);
    expect(heap.allocate(16)).toBe(a + 208);
  });

  test("heap grows memory by at least a quarter at a time, and only as needed near the maximum", () => {
    const memory = new WebAssembly.Memory({ initial: 8, maximum: 12 });
    const heap = new WasmHeap(memory, 0);
    heap.allocate(8 * 65536); // fills the 8 initial pages
    heap.allocate(16); // needs 1 page, grows by 8 / 4 = 2
    expect(memory.buffer.byteLength / 65536).toBe(10);
    heap.allocate(2 * 65536); // ends 16 bytes past page 10: needs 1 page; a quarter (3) would pass the maximum of 12, so 1
    expect(memory.buffer.byteLength / 65536).toBe(11);
    expect(() => heap.allocate(2 * 65536)).toThrow(RangeError); // past the maximum either way
  });
});
