// One layer's paged attention as independent work items (AssemblyScript, --enable simd -O3 --runtime
// stub): an item is a run of consecutive rows of one lane group (one KV head's query heads in the
// f32x4 lanes), described by records the host writes into memory. Each item scores its rows, takes
// their softmax partial (max, Σ exp) and accumulates its values into its own histograms and
// accumulators, so items run in any order on any thread of a pool sharing this memory; the host then
// merges a group's items (flash-decoding style: rescale each by exp(max_item − max)). Walking the
// records here rather than from the host saves two host→WASM calls per page per group.

import {
  denseAccumulateRows, denseAccumulateRowsHalf, denseScores, denseScoresHalf, expandHistogram, softmaxPartial, tableCodeExpand,
  tableCodeHistogramRows, tableHistogramRows, tableScoreCodeRows, tableScoreRows,
} from "./paged-attention";

// Row kinds of a segment's keys and values; src/wasm/attend-items-layout.ts names every word for the host.
const denseFloat32 = 0;
const denseFloat16 = 1;
const tableBytes = 2;
const tableCodes = 3;

// Segment record: 24 i32 words (one resident page segment or the residual window).
const segmentBytes: usize = 96;
// Value-slot record: 16 i32 words (one value table codec's histogram and accumulator for one item).
const slotBytes: usize = 64;
// Item record: 16 i32 words (a cache line each: items run on different threads).
const itemBytes: usize = 64;

@inline function word(record: usize, index: i32): i32 {
  return load<i32>(record + (<usize>index << 2));
}

/** Scores of one segment's rows into its place in the group's score buffer. */
function scoreSegment(segment: usize, dimension: i32): void {
  const kind = word(segment, 0);
  const keys = <usize>word(segment, 1);
  const norms = <usize>word(segment, 2);
  const mean = <usize>word(segment, 3);
  const live = <usize>word(segment, 4);
  const rows = word(segment, 5);
  const scores = <usize>word(segment, 6);
  const queries = <usize>word(segment, 7);
  const table = <usize>word(segment, 8);
  if (kind == tableBytes) tableScoreRows(queries, dimension, table, keys, word(segment, 9), norms, mean, live, rows, scores);
  else if (kind == tableCodes) tableScoreCodeRows(queries, dimension, table, keys, word(segment, 9), word(segment, 10), word(segment, 11), word(segment, 12), norms, mean, live, rows, scores);
  else if (kind == denseFloat16) denseScoresHalf(queries, dimension, keys, live, rows, scores);
  else denseScores(queries, dimension, keys, live, rows, scores);
}

/** Accumulates one segment's values, weighted by its rows' exp(score − max_item), into the item's sums. */
function accumulateSegment(segment: usize, dimension: i32, slots: usize, denseAccumulator: usize): void {
  const kind = word(segment, 13);
  const values = <usize>word(segment, 14);
  const rows = word(segment, 5);
  const weights = <usize>word(segment, 6);
  if (kind == denseFloat32) {
    denseAccumulateRows(weights, dimension, values, rows, denseAccumulator);
    return;
  }
  if (kind == denseFloat16) {
    denseAccumulateRowsHalf(weights, dimension, values, rows, denseAccumulator);
    return;
  }
  const norms = <usize>word(segment, 15);
  const mean = <usize>word(segment, 16);
  const slot = slots + <usize>word(segment, 17) * slotBytes;
  // Written once per item, not per page: items on other threads may share this cache line.
  if (word(slot, 2) == 0) store<i32>(slot, 1, 8);
  const histogram = <usize>word(slot, 0);
  const accumulator = <usize>word(slot, 1);
  if (kind == tableCodes) {
    tableCodeHistogramRows(weights, dimension, values, word(segment, 18), word(segment, 19), word(segment, 20), word(segment, 21), norms, mean, rows, histogram, accumulator);
  } else {
    tableHistogramRows(weights, dimension, values, word(segment, 18), norms, mean, rows, histogram, accumulator);
  }
}

/**
 * Item record words: 0 first segment, 1 segment end, 2 the item's first score row (byte offset),
 * 3 its row count, 4 result ([max × 4 | Σ exp × 4]), 5 dense accumulator (dimension f32x4), 6 its
 * value slots, 7 slot count, 8 a 4096-byte scratch for histogram expansion.
 * Value-slot words: 0 histogram (zero on entry, left zero), 1 accumulator (dimension f32x4), 2 used
 * (written here), 3 kind, 4 row bytes, 5 bit width, 6 blocks, 7 block size, 8 codebook size, 9 codewords.
 * On return: result holds the item's max and Σ exp per lane; the dense accumulator and each used
 * slot's accumulator (rotated domain of its codec) hold Σ exp(score − max) · value.
 */
function attendItem(item: usize, segments: usize, dimension: i32): void {
  const firstSegment = word(item, 0);
  const segmentEnd = word(item, 1);
  const denseAccumulator = <usize>word(item, 5);
  const slots = <usize>word(item, 6);
  const slotCount = word(item, 7);
  memory.fill(denseAccumulator, 0, <usize>dimension << 4);
  for (let s = 0; s < slotCount; s++) {
    const slot = slots + <usize>s * slotBytes;
    store<i32>(slot, 0, 8);
    memory.fill(<usize>word(slot, 1), 0, <usize>dimension << 4);
  }
  for (let s = firstSegment; s < segmentEnd; s++) scoreSegment(segments + <usize>s * segmentBytes, dimension);
  softmaxPartial(<usize>word(item, 2), word(item, 3), <usize>word(item, 4));
  for (let s = firstSegment; s < segmentEnd; s++) accumulateSegment(segments + <usize>s * segmentBytes, dimension, slots, denseAccumulator);
  const scratch = <usize>word(item, 8);
  for (let s = 0; s < slotCount; s++) {
    const slot = slots + <usize>s * slotBytes;
    if (word(slot, 2) == 0) continue;
    const histogram = <usize>word(slot, 0);
    const accumulator = <usize>word(slot, 1);
    const blocks = word(slot, 6);
    const blockSize = word(slot, 7);
    const size = word(slot, 8);
    const codewords = <usize>word(slot, 9);
    if (word(slot, 3) == tableCodes) tableCodeExpand(histogram, blocks, blockSize, size, codewords, accumulator);
    else expandHistogram(histogram, word(slot, 4), word(slot, 5), blocks, blockSize, size, codewords, accumulator, scratch);
  }
}

/** Items [start, end) of the item table (the thread pool's row-range convention). */
export function attendItems(items: usize, segments: usize, dimension: i32, start: i32, end: i32): void {
  for (let item = start; item < end; item++) attendItem(items + <usize>item * itemBytes, segments, dimension);
}
