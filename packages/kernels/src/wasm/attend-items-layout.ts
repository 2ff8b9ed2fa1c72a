/**
 * The records `attendItems` (asm/attend-items.ts) reads, as i32 word indices: the host writes one
 * segment record per resident page segment (and one for the residual window), one item record per
 * run of a lane group's consecutive segments and, per item, one slot record per value table codec;
 * then calls attendItems over the items. Every pointer is a byte offset into the kernels' heap.
 */
export const attendItemsLayout = {
  /** Row kinds of a segment's keys (segment.keyKind), values (segment.valueKind) and a slot's histogram (slot.kind). */
  kinds: { denseFloat32: 0, denseFloat16: 1, tableBytes: 2, tableCodes: 3 },
  segmentWords: 24,
  segment: {
    keyKind: 0, keys: 1, keyNorms: 2, keyMean: 3, live: 4, rows: 5,
    /** Where the segment's scores go (rows × f32x4), then its weights exp(score − max_item). */
    scores: 6,
    /** The lane group's queries for this key codec (headDim × f32x4). */
    queries: 7,
    /** The byte table, or for tableCodes the block table. */
    keyTable: 8, keyRowBytes: 9, keyBitWidth: 10, keyBlocks: 11, keySize: 12,
    valueKind: 13, values: 14, valueNorms: 15, valueMean: 16,
    /** Index of the value codec's slot among the item's slots. */
    valueSlot: 17, valueRowBytes: 18, valueBitWidth: 19, valueBlocks: 20, valueSize: 21,
  },
  slotWords: 16,
  slot: {
    /** rowBytes × 256 f32x4 (blocks × size for tableCodes), zero on entry and left zero. */
    histogram: 0,
    /** headDim × f32x4, in the codec's rotated domain. */
    accumulator: 1,
    /** Set by the kernel when the item accumulated a row of this codec. */
    used: 2,
    kind: 3, rowBytes: 4, bitWidth: 5, blocks: 6, blockSize: 7, size: 8, codewords: 9,
  },
  itemWords: 16,
  item: {
    firstSegment: 0, segmentEnd: 1,
    /** The item's first score row (byte offset) and its row count. */
    scores: 2, rows: 3,
    /** [max × 4 | Σ exp × 4] of the item's rows. */
    result: 4,
    denseAccumulator: 5, slots: 6, slotCount: 7,
    /** 4096 bytes for the histogram expansion's per-digit marginals. */
    scratch: 8,
  },
} as const;

export type AttendItemsLayout = typeof attendItemsLayout;
