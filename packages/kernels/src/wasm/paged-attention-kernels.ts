import { pagedAttentionWasmBase64 } from "./generated/paged-attention-wasm.js";
import { WasmHeap } from "./wasm-heap.js";

/**
 * The cache's partial-attention kernels (asm/paged-attention.ts) in their own WASM module, called
 * synchronously so a synchronous `attend` can use them. Lanes are up to 4 query heads of one KV
 * group; every number naming memory is a byte offset into `heap` (allocate rows there once and keep
 * them resident). See the asm file for each kernel's layout.
 */
export interface PagedAttentionKernels {
  readonly heap: WasmHeap;
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

/** Instantiates the module (async: browsers refuse large synchronous compiles); the kernels then run synchronously. */
export async function createPagedAttentionKernels(): Promise<PagedAttentionKernels> {
  if (typeof WebAssembly === "undefined") throw new Error("WebAssembly is not available");
  const { instance } = await WebAssembly.instantiate(decodeBase64(pagedAttentionWasmBase64), {});
  const exports = instance.exports as unknown as Omit<PagedAttentionKernels, "heap"> & { memory: WebAssembly.Memory };
  const heap = new WasmHeap(exports.memory, Math.max(exports.memory.buffer.byteLength, 1024));
  return {
    heap,
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
}
