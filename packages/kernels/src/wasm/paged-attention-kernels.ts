import { pagedAttentionWasmBase64 } from "./generated/paged-attention-wasm.js";
import {
  pagedAttentionSharedInitialPages, pagedAttentionSharedMaximumPages, pagedAttentionSharedWasmBase64,
} from "./generated/paged-attention-shared-wasm.js";
import { attendItemsLayout, type AttendItemsLayout } from "./attend-items-layout.js";
import { detectThreadHost } from "./thread-host.js";
import { WasmHeap } from "./wasm-heap.js";
import { WorkerPool } from "./worker-pool.js";

/**
 * The cache's partial-attention kernels (asm/paged-attention.ts) in their own WASM module, called
 * synchronously so a synchronous `attend` can use them. Lanes are up to 4 query heads of one KV
 * group; every number naming memory is a byte offset into `heap` (allocate rows there once and keep
 * them resident). See the asm file for each kernel's layout.
 */
export interface PagedAttentionKernels {
  readonly heap: WasmHeap;
  /** Threads `attendItems` runs on (the calling one included), and why it is 1 when more were asked for. */
  readonly threads: number;
  readonly threadsReason?: string;
  /**
   * One layer's attention as `count` independent items (records in the heap; layout in
   * `itemLayout`): split over the thread pool when there is one and `parallel`, else run here.
   */
  attendItems(items: number, segments: number, dimension: number, count: number, parallel: boolean): void;
  /** The word layout of attendItems' segment, item and slot records. */
  readonly itemLayout: AttendItemsLayout;
  /** Stops the pool's workers when the kernels started their own (they keep working on the calling thread); a no-op on a backend's pool. */
  dispose(): void;
  tableScores(
    queries: number, dimension: number, codes: number, rowBytes: number, bitWidth: number, blocks: number, blockSize: number,
    size: number, codewords: number, norms: number, live: number, segmentCount: number, segmentStarts: number, means: number,
    blockTable: number, byteTable: number, scores: number,
  ): void;
  denseScores(queries: number, dimension: number, keys: number, live: number, rows: number, scores: number): void;
  softmaxPartial(scores: number, rows: number, result: number): void;
  tableAccumulate(
    weights: number, dimension: number, codes: number, rowBytes: number, bitWidth: number, blocks: number, blockSize: number,
    size: number, codewords: number, norms: number, segmentCount: number, segmentStarts: number, means: number,
    histogram: number, accumulator: number,
  ): void;
  denseAccumulate(weights: number, dimension: number, values: number, rows: number, accumulator: number): void;
  // The same work split so one query's tables and accumulators span many pages (a cache's pages are
  // separate heap blocks): build the tables once, score/accumulate page by page, expand once.
  tableScoreTables(
    queries: number, codewords: number, rowBytes: number, bitWidth: number, blocks: number, blockSize: number, size: number, blockTable: number, byteTable: number,
  ): void;
  tableScoreRows(
    queries: number, dimension: number, byteTable: number, codes: number, rowBytes: number, norms: number, mean: number, live: number, rows: number, scores: number,
  ): void;
  tableHistogramRows(
    weights: number, dimension: number, codes: number, rowBytes: number, norms: number, mean: number, rows: number, histogram: number, accumulator: number,
  ): void;
  tableExpand(histogram: number, rowBytes: number, bitWidth: number, blocks: number, blockSize: number, size: number, codewords: number, accumulator: number): void;
  denseAccumulateRows(weights: number, dimension: number, values: number, rows: number, accumulator: number): void;
  /** denseScores / denseAccumulateRows over fp16 rows (finite halves, dimension a multiple of 4): half the bytes resident and read. */
  denseScoresHalf(queries: number, dimension: number, keys: number, live: number, rows: number, scores: number): void;
  denseAccumulateRowsHalf(weights: number, dimension: number, values: number, rows: number, accumulator: number): void;
  // Code-level tables for few rows: the block table alone (no byte table) and a histogram per
  // (code position, codeword), whose fixed cost per query is blocks × size instead of rowBytes × 256.
  tableBlockTable(queries: number, codewords: number, blocks: number, blockSize: number, size: number, blockTable: number): void;
  tableScoreCodeRows(
    queries: number, dimension: number, blockTable: number, codes: number, rowBytes: number, bitWidth: number, blocks: number, size: number,
    norms: number, mean: number, live: number, rows: number, scores: number,
  ): void;
  tableCodeHistogramRows(
    weights: number, dimension: number, codes: number, rowBytes: number, bitWidth: number, blocks: number, size: number,
    norms: number, mean: number, rows: number, histogram: number, accumulator: number,
  ): void;
  tableCodeExpand(histogram: number, blocks: number, blockSize: number, size: number, codewords: number, accumulator: number): void;
}

function decodeBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let index = 0; index < binary.length; index++) bytes[index] = binary.charCodeAt(index);
  return bytes;
}

export interface PagedAttentionKernelOptions {
  /**
   * Threads for `attendItems`: 1 (default), a count, or "auto" (every core). More than one needs
   * SharedArrayBuffer and a worker API (a cross-origin-isolated page in browsers); without them the
   * kernels run on one thread and `threadsReason` says why. A runtime on the WASM backend gets
   * kernels that share the backend's pool instead (`WasmKernelBackend.pagedAttentionKernels`).
   */
  readonly threads?: number | "auto";
  /** How long an idle worker polls before it sleeps (default 200 µs). */
  readonly workerSpinMicroseconds?: number;
}

type Exports = Omit<PagedAttentionKernels, "heap" | "threads" | "threadsReason" | "attendItems" | "itemLayout" | "dispose"> & {
  memory: WebAssembly.Memory;
  attendItems(items: number, segments: number, dimension: number, start: number, end: number): void;
};

/** The pool functions of the paged-attention module. */
export const pagedAttentionPoolFunctions = ["attendItems"] as const;

/** The shared-memory build on this thread, over a new shared memory: what a pool's workers instantiate too. */
export async function instantiateSharedPagedAttention(): Promise<{ module: WebAssembly.Module; memory: WebAssembly.Memory; exports: WebAssembly.Exports; heap: WasmHeap }> {
  const memory = new WebAssembly.Memory({ initial: pagedAttentionSharedInitialPages, maximum: pagedAttentionSharedMaximumPages, shared: true });
  const module = await WebAssembly.compile(decodeBase64(pagedAttentionSharedWasmBase64));
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  return { module, memory, exports: instance.exports, heap: new WasmHeap(memory, memory.buffer.byteLength) };
}

/**
 * The kernels over an instance (`exports`, whose memory `heap` manages) and, when given, a pool
 * whose workers instantiated the same module over the same memory. `ownsPool`: dispose stops it.
 */
export function pagedAttentionKernelsOver(
  instanceExports: WebAssembly.Exports, heap: WasmHeap, shared: { pool: WorkerPool; ownsPool: boolean } | undefined, threadsReason?: string,
): PagedAttentionKernels {
  const exports = instanceExports as unknown as Exports;
  let pool = shared?.pool;
  const kernels: PagedAttentionKernels = {
    heap,
    get threads() {
      return pool?.threads ?? 1;
    },
    threadsReason,
    itemLayout: attendItemsLayout,
    attendItems: (items, segments, dimension, count, parallel) => {
      if (pool !== undefined && parallel && count >= 2) pool.parallelFor("attendItems", [items, segments, dimension], count, 1);
      else exports.attendItems(items, segments, dimension, 0, count);
    },
    dispose: () => {
      // Kernels on someone else's pool (a backend's, shared by every cache on it) leave it running.
      if (pool === undefined || !shared?.ownsPool) return;
      poolReaper?.unregister(kernels);
      pool.dispose();
      pool = undefined;
    },
    tableScores: exports.tableScores,
    denseScores: exports.denseScores,
    softmaxPartial: exports.softmaxPartial,
    tableAccumulate: exports.tableAccumulate,
    denseAccumulate: exports.denseAccumulate,
    tableScoreTables: exports.tableScoreTables,
    tableScoreRows: exports.tableScoreRows,
    tableHistogramRows: exports.tableHistogramRows,
    tableExpand: exports.tableExpand,
    denseAccumulateRows: exports.denseAccumulateRows,
    denseScoresHalf: exports.denseScoresHalf,
    denseAccumulateRowsHalf: exports.denseAccumulateRowsHalf,
    tableBlockTable: exports.tableBlockTable,
    tableScoreCodeRows: exports.tableScoreCodeRows,
    tableCodeHistogramRows: exports.tableCodeHistogramRows,
    tableCodeExpand: exports.tableCodeExpand,
  };
  if (pool !== undefined && shared?.ownsPool) poolReaper?.register(kernels, pool, kernels);
  return kernels;
}

/** The shared-memory module and a pool of `threads − 1` workers of its own, or why not. */
async function startShared(threads: number, options: PagedAttentionKernelOptions): Promise<PagedAttentionKernels | { reason: string }> {
  const host = await detectThreadHost();
  if ("unavailable" in host) return { reason: host.unavailable };
  const count = threads === 0 ? host.parallelism : threads;
  if (count < 2) return { reason: `the machine reports ${host.parallelism} core` };
  const { module, memory, exports, heap } = await instantiateSharedPagedAttention();
  const control = heap.allocate(WorkerPool.controlBytes(count));
  const pool = await WorkerPool.start({
    host,
    module,
    memory,
    exports,
    functions: pagedAttentionPoolFunctions,
    threads: count,
    control,
    spinMicroseconds: options.workerSpinMicroseconds,
  });
  return pagedAttentionKernelsOver(exports, heap, { pool, ownsPool: true });
}

/** Keeps dropped kernels' workers (which hold their memory) from outliving them. */
const poolReaper = typeof FinalizationRegistry === "undefined" ? undefined : new FinalizationRegistry<WorkerPool>((pool) => pool.dispose());

/**
 * Instantiates the module (async: browsers refuse large synchronous compiles); the kernels then run
 * synchronously. With `threads` > 1 the module runs over a shared memory and `attendItems` splits
 * its items over workers of its own; a pool that cannot start leaves one thread, with the reason in
 * `threadsReason`.
 */
export async function createPagedAttentionKernels(options: PagedAttentionKernelOptions = {}): Promise<PagedAttentionKernels> {
  if (typeof WebAssembly === "undefined") throw new Error("WebAssembly is not available");
  const requested = options.threads ?? 1;
  if (requested !== "auto" && (!Number.isInteger(requested) || requested < 1)) {
    throw new Error(`createPagedAttentionKernels: threads must be "auto" or a whole number ≥ 1, got ${requested}`);
  }
  let reason: string | undefined;
  if (requested !== 1) {
    const started = await startShared(requested === "auto" ? 0 : requested, options).catch((error: unknown) => ({
      reason: `the worker pool could not start: ${error instanceof Error ? error.message : String(error)}`,
    }));
    if (!("reason" in started)) return started;
    reason = started.reason;
  }
  const { instance } = await WebAssembly.instantiate(decodeBase64(pagedAttentionWasmBase64), {});
  const memory = (instance.exports as unknown as Exports).memory;
  return pagedAttentionKernelsOver(instance.exports, new WasmHeap(memory, Math.max(memory.buffer.byteLength, 1024)), undefined, reason);
}
