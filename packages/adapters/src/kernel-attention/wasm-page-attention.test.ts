import { CompressedKVCache, MemoryPageStore } from "@kvpack/cache";
import { type CodecSpec, createCodec, kernelCodecView } from "@kvpack/codecs";
import { createPagedAttentionKernels, createWasmBackend, type WasmKernelBackend } from "@kvpack/kernels";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { itemSplits } from "./item-splits.js";
import { prefersCodeLevelTables, WasmPageAttention } from "./wasm-page-attention.js";

const layers = 2;
const kvHeads = 2;
const headDim = 64;

/** Deterministic noise in [−2, 2) plus `offset` (keys get one, so centered codecs have a mean to remove). */
function noise(length: number, seed: number, offset = 0): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
    out[i] = (state / 2 ** 32 - 0.5) * 4 + offset;
  }
  return out;
}

const cases: Array<[string, CodecSpec, CodecSpec]> = [
  ["TurboQuant 4/4", { kind: "turboquant", dimension: headDim, bits: 4 }, { kind: "turboquant", dimension: headDim, bits: 4 }],
  ["TurboQuant 6/4 (8-bit lanes)", { kind: "turboquant", dimension: headDim, bits: 6 }, { kind: "turboquant", dimension: headDim, bits: 4 }],
  ["FibQuant k=2 2/2", { kind: "fibquant", dimension: headDim, bits: 2, blockSize: 2 }, { kind: "fibquant", dimension: headDim, bits: 2, blockSize: 2 }],
  [
    "FibQuant centered 3/3",
    { kind: "fibquant", dimension: headDim, bits: 3, blockSize: 2, center: true },
    { kind: "fibquant", dimension: headDim, bits: 3, blockSize: 2, center: true },
  ],
  // 1 and 2 bits per code: 8 and 4 codes per byte (the kernels' generic byte-table paths).
  ["TurboQuant 1/2", { kind: "turboquant", dimension: headDim, bits: 1 }, { kind: "turboquant", dimension: headDim, bits: 2 }],
  ["fp32 / fp32", { kind: "fp32", dimension: headDim }, { kind: "fp32", dimension: headDim }],
  ["fp16 / fp16", { kind: "fp16", dimension: headDim }, { kind: "fp16", dimension: headDim }],
  ["TurboQuant 4 / fp16", { kind: "turboquant", dimension: headDim, bits: 4 }, { kind: "fp16", dimension: headDim }],
];

interface Pair {
  kernel: CompressedKVCache;
  reference: CompressedKVCache;
  backend: WasmPageAttention;
}

function makePair(attention: WasmPageAttention, keys: CodecSpec, values: CodecSpec, store = new MemoryPageStore()): Pair {
  const options = { layers, kvHeads, headDim, keys, values, pageSize: 8, residualWindow: 8, tiers: [{ name: "memory", store }] };
  return { kernel: new CompressedKVCache({ ...options, attention }), reference: new CompressedKVCache(options), backend: attention };
}

function appendTokens(caches: CompressedKVCache[], count: number, seed: number): void {
  const start = caches[0].length(0);
  for (let position = start; position < start + count; position++) {
    for (let layer = 0; layer < layers; layer++) {
      const keys = noise(kvHeads * headDim, seed + position * 31 + layer, 0.75);
      const values = noise(kvHeads * headDim, seed + 7919 + position * 31 + layer);
      for (const cache of caches) cache.append(layer, keys, values);
    }
  }
}

/**
 * Largest output and weight differences between the kernel and the TypeScript attention over every
 * layer. Both compute in float32, in a different order: the kernels take pre-scaled (and rotated)
 * queries, sum table entries per code byte, and normalize once at the end. Measured here (all cases,
 * every step, layers split over 2 threads too; KVPACK_PRINT_DIFFERENCES=1 prints them): outputs
 * ≤ 8.4e-7, weights ≤ 2.7e-7, i.e. a few float32 ulps of O(1) numbers. The bounds (1e-5 and 2e-6) leave ~10× headroom and stay far
 * below any real error: a codec's own error moves outputs by ~1e-2, and a wrongly masked row or a
 * missed page by far more.
 */
function differences(pair: Pair, heads: number, seed: number): { output: number; weight: number } {
  let output = 0;
  let weight = 0;
  for (let layer = 0; layer < layers; layer++) {
    const length = pair.reference.length(layer);
    const queries = noise(heads * headDim, seed + layer);
    const outKernel = new Float32Array(heads * headDim);
    const outReference = new Float32Array(heads * headDim);
    const weightsKernel = new Float32Array(heads * length);
    const weightsReference = new Float32Array(heads * length);
    pair.kernel.attend(layer, queries, outKernel, { heads, weightsOut: weightsKernel });
    pair.reference.attend(layer, queries, outReference, { heads, weightsOut: weightsReference });
    for (let i = 0; i < outKernel.length; i++) {
      expect(Number.isFinite(outKernel[i])).toBe(true);
      output = Math.max(output, Math.abs(outKernel[i] - outReference[i]));
    }
    for (let i = 0; i < weightsKernel.length; i++) weight = Math.max(weight, Math.abs(weightsKernel[i] - weightsReference[i]));
  }
  return { output, weight };
}

function expectConforms(pair: Pair, heads: number, seed: number): void {
  const { output, weight } = differences(pair, heads, seed);
  // The kernels served (a backend that threw would have declined, leaving the TypeScript answer).
  expect(pair.backend.failure).toBeUndefined();
  if (process.env.KVPACK_PRINT_DIFFERENCES) console.log(`output ${output.toExponential(2)} weight ${weight.toExponential(2)}`);
  expect(output).toBeLessThan(1e-5);
  expect(weight).toBeLessThan(2e-6);
}

let attention: WasmPageAttention;
/** The same kernels with the byte tables forced (these caches are short, so "auto" picks the code-level ones). */
let byteTableAttention: WasmPageAttention;
/**
 * Kernels on 2 threads, every layer split: each lane group's rows cut into 2 items (runs of ≥ 4
 * rows) over the pool, merged by exp(max_item − max), which single-thread layers never need.
 */
let threadedAttention: WasmPageAttention;
/** The same over a 2-thread WASM backend's kernels: its one worker pool runs matmuls and attention. */
let wasmBackend: WasmKernelBackend;
let backendAttention: WasmPageAttention;

describe("WasmPageAttention against TypeScriptAttention", () => {
  beforeAll(async () => {
    const kernels = await createPagedAttentionKernels();
    attention = new WasmPageAttention(kernels);
    byteTableAttention = new WasmPageAttention(kernels, { tables: "bytes" });
    const threaded = await createPagedAttentionKernels({ threads: 2 });
    expect(threaded.threadsReason).toBeUndefined();
    expect(threaded.threads).toBe(2);
    threadedAttention = new WasmPageAttention(threaded, { parallelMinimumRows: 1, minimumItemRows: 4 });
    wasmBackend = createWasmBackend({ threads: 2 });
    await wasmBackend.init();
    expect(wasmBackend.threading?.threads).toBe(2);
    const shared = await wasmBackend.pagedAttentionKernels();
    expect(await wasmBackend.pagedAttentionKernels()).toBe(shared);
    expect(shared.threads).toBe(2);
    backendAttention = new WasmPageAttention(shared, { parallelMinimumRows: 1, minimumItemRows: 4 });
  });
  afterAll(() => {
    threadedAttention.dispose();
    wasmBackend.dispose();
  });

  const tableModes = cases.flatMap(([name, keys, values]) => [
    [name, keys, values, "auto"],
    [`${name}, byte tables`, keys, values, "bytes"],
    [`${name}, 2 threads, split layers`, keys, values, "threads"],
    [`${name}, the backend's worker pool, split layers`, keys, values, "backend"],
  ] as Array<[string, CodecSpec, CodecSpec, "auto" | "bytes" | "threads" | "backend"]>);

  it.each(tableModes)("%s: appends, drops, truncation, fork, offload and recall", async (_name, keys, values, mode) => {
    const backend = { auto: attention, bytes: byteTableAttention, threads: threadedAttention, backend: backendAttention }[mode];
    const store = new MemoryPageStore();
    const pair = makePair(backend, keys, values, store);
    const both = (): CompressedKVCache[] => [pair.kernel, pair.reference];
    // 45 tokens: 5 pages of 8 per KV head and 5 residual rows; 6 heads over 2 KV heads (3 lanes of 4).
    appendTokens(both(), 45, 1);
    expect(pair.kernel.attentionBackendName()).toBe("wasm");
    expectConforms(pair, 6, 100);
    // Groups of 6 query heads: two lane groups per KV head (4 + 2).
    expectConforms(pair, 12, 200);
    // Drops on one KV head and on all (live masks change: pages re-uploaded), in pages and the residual window.
    for (const cache of both()) {
      cache.drop(0, [3, 9, 10, 42], 1);
      cache.drop(1, [0, 17, 43]);
    }
    expectConforms(pair, 6, 300);
    // A whole page dropped is released.
    for (const cache of both()) cache.drop(1, [8, 9, 10, 11, 12, 13, 14, 15]);
    expectConforms(pair, 6, 350);
    // Truncation into a page, then appends that flush again.
    for (const cache of both()) cache.truncate(29);
    expectConforms(pair, 6, 400);
    appendTokens(both(), 20, 2);
    expectConforms(pair, 6, 500);
    // A fork shares the backend; its own appends and drops conform to the reference's fork.
    const forked = { kernel: pair.kernel.fork(), reference: pair.reference.fork(), backend };
    appendTokens([forked.kernel, forked.reference], 11, 3);
    for (const cache of [forked.kernel, forked.reference]) cache.drop(0, [1, 2, 50], 0);
    expectConforms(forked, 6, 600);
    expectConforms(pair, 6, 650);
    // Offload a page (it takes no weight), then recall it.
    const pageIds = (cache: CompressedKVCache): number[] => cache.pageDigests(0, 1).map((digest) => digest.pageId);
    const kernelPage = pageIds(pair.kernel)[1];
    const referencePage = pageIds(pair.reference)[1];
    await Promise.all([pair.kernel.offloadPage(0, 1, kernelPage), pair.reference.offloadPage(0, 1, referencePage)]);
    expectConforms(pair, 6, 700);
    await Promise.all([pair.kernel.recallPage(0, 1, kernelPage), pair.reference.recallPage(0, 1, referencePage)]);
    expectConforms(pair, 6, 800);
    for (const cache of [...both(), forked.kernel, forked.reference]) cache.truncate(0);
  });

  it("auto picks code-level tables for few rows and byte tables past rowBytes · 256 / codesPerRow", () => {
    // TurboQuant 4-bit, head_dim 64: 32 code bytes, 64 codes per row → 0.85 · 32 · 256 / 64 = 108.8 rows.
    const view = kernelCodecView(createCodec({ kind: "turboquant", dimension: headDim, bits: 4 }));
    if (view?.kind !== "table") throw new Error("no table view");
    expect([view.rowBytes, view.codesPerRow]).toEqual([32, 64]);
    expect(prefersCodeLevelTables(view, 108)).toBe(true);
    expect(prefersCodeLevelTables(view, 109)).toBe(false);
    // 8-bit codes (6-bit TurboQuant): one code per byte → 0.85 · 256 = 217.6 rows.
    const wide = kernelCodecView(createCodec({ kind: "turboquant", dimension: headDim, bits: 6 }));
    if (wide?.kind !== "table") throw new Error("no table view");
    expect(prefersCodeLevelTables(wide, 217)).toBe(true);
    expect(prefersCodeLevelTables(wide, 218)).toBe(false);
  });

  it("re-encoded pages (mixed codecs and explicit positions in one KV head) conform", () => {
    const pair = makePair(attention, { kind: "turboquant", dimension: headDim, bits: 4 }, { kind: "turboquant", dimension: headDim, bits: 4 });
    appendTokens([pair.kernel, pair.reference], 40, 4);
    for (const cache of [pair.kernel, pair.reference]) {
      const [first, second] = cache.pageDigests(0, 0).map((digest) => digest.pageId);
      cache.reencodePage(0, 0, first, { kind: "fp16", dimension: headDim }, { kind: "fibquant", dimension: headDim, bits: 2, blockSize: 2 });
      // Keep only some rows of the second page: explicit positions.
      cache.reencodePage(0, 0, second, undefined, undefined, [9, 11, 12, 15]);
    }
    expectConforms(pair, 6, 900);
    for (const cache of [pair.kernel, pair.reference]) cache.truncate(0);
  });

  it("a sliding-window layer (its oldest token dropped on each append) conforms at every step", () => {
    const spec: CodecSpec = { kind: "turboquant", dimension: headDim, bits: 4 };
    const options = { layers, kvHeads, headDim, keys: spec, values: spec, pageSize: 8, residualWindow: 8, layerWindows: [undefined, 20] };
    const pair = { kernel: new CompressedKVCache({ ...options, attention }), reference: new CompressedKVCache(options), backend: attention };
    for (let step = 0; step < 40; step++) {
      appendTokens([pair.kernel, pair.reference], 1, 11 + step);
      if (step % 3 === 0) expectConforms(pair, 6, 1000 + step);
    }
    for (const cache of [pair.kernel, pair.reference]) cache.truncate(0);
  });

  it("uploads a page once: decode steps without a flush upload nothing, a flush uploads the new pages", () => {
    const pair = makePair(attention, { kind: "fibquant", dimension: headDim, bits: 2, blockSize: 2 }, { kind: "fibquant", dimension: headDim, bits: 2, blockSize: 2 });
    appendTokens([pair.kernel, pair.reference], 33, 5);
    const out = new Float32Array(6 * headDim);
    const query = noise(6 * headDim, 9);
    for (let layer = 0; layer < layers; layer++) pair.kernel.attend(layer, query, out, { heads: 6 });
    const uploaded = attention.uploadCount;
    // 33 tokens → 4 pages per KV head resident (the 8-row residual window flushes at 8).
    appendTokens([pair.kernel, pair.reference], 6, 6);
    for (let layer = 0; layer < layers; layer++) pair.kernel.attend(layer, query, out, { heads: 6 });
    expect(attention.uploadCount).toBe(uploaded);
    appendTokens([pair.kernel, pair.reference], 2, 7);
    for (let layer = 0; layer < layers; layer++) pair.kernel.attend(layer, query, out, { heads: 6 });
    expect(attention.uploadCount).toBe(uploaded + layers * kvHeads);
    const resident = attention.residentPageCount;
    for (const cache of [pair.kernel, pair.reference]) cache.truncate(0);
    expect(attention.residentPageCount).toBe(resident - layers * kvHeads * 5);
  });

  it("frees the rows of a cache dropped without emptying it once its pages are garbage-collected", async () => {
    setFlagsFromString("--expose-gc");
    const collect = runInNewContext("gc") as () => void;
    const before = attention.residentPageCount;
    const bytesBefore = attention.residentBytes;
    (() => {
      const spec: CodecSpec = { kind: "fp16", dimension: headDim };
      const dropped = new CompressedKVCache({ layers, kvHeads, headDim, keys: spec, values: spec, pageSize: 8, residualWindow: 8, attention });
      appendTokens([dropped], 24, 12);
      for (let layer = 0; layer < layers; layer++) dropped.attend(layer, noise(6 * headDim, 13), new Float32Array(6 * headDim), { heads: 6 });
    })();
    // 24 tokens: 3 pages per layer × KV head became resident.
    expect(attention.residentPageCount).toBe(before + layers * kvHeads * 3);
    // fp16 pages stay 2 bytes a value: per page 8 rows × 64 halves for keys and for values, plus the 8-byte live mask (16-aligned).
    expect((attention.residentBytes - bytesBefore) / (layers * kvHeads * 3)).toBe(2 * 8 * headDim * 2 + 16);
    // Finalizers run some time after a collection: collect and yield until they have (bounded: up
    // to 4 s, since on a loaded CI machine the finalization task can wait behind other work).
    for (let attempt = 0; attempt < 400 && attention.residentPageCount > before; attempt++) {
      collect();
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(attention.residentPageCount).toBe(before);
  });

  it("declines layers with a codec it has no kernel for: the cache's TypeScript answer, bit for bit", () => {
    const spec: CodecSpec = { kind: "int8", dimension: headDim };
    const pair = makePair(attention, spec, spec);
    appendTokens([pair.kernel, pair.reference], 20, 8);
    const queries = noise(6 * headDim, 10);
    const a = new Float32Array(6 * headDim);
    const b = new Float32Array(6 * headDim);
    pair.kernel.attend(0, queries, a, { heads: 6 });
    pair.reference.attend(0, queries, b, { heads: 6 });
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe("itemSplits", () => {
  it("raises a layer's item count to a multiple of the thread count, within the row limit", () => {
    // SmolLM2's 3 lane groups on 2 threads, 4 items per thread: ceil(8 / 3) = 3 per group is 9
    // items (one thread runs one more); 4 per group is 12, 6 per thread.
    expect(itemSplits(3, 2, 4, 100)).toBe(4);
    expect(itemSplits(3, 2, 4, 2)).toBe(2);
    // Already a multiple: 4 groups × 2 = 8 items on 2 threads; 3 groups × 4 = 12 on 3 threads.
    expect(itemSplits(4, 2, 4, 100)).toBe(2);
    expect(itemSplits(3, 3, 4, 100)).toBe(4);
    // 9 groups on 2 threads: 1 each is 9 items, 2 each is 18.
    expect(itemSplits(9, 2, 4, 100)).toBe(2);
    expect(itemSplits(9, 2, 4, 0)).toBe(1);
  });
});
