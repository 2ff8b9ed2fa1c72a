import type { Codec, EncodedBlock } from "@kvpack/codecs";
import type { PageLocation } from "../policy.js";

/**
 * Internal page layout. A page holds the rows of one layer × KV head whose positions fall in
 * [firstPosition, firstPosition + pageSize). Its rows live in one or more segments: one per codec
 * pair (mixed precision per token adds segments). Positions and live flags stay in memory when the
 * blocks are offloaded, so drops and digests work on offloaded pages too.
 */
export interface Segment {
  /** Rows in the blocks. */
  readonly count: number;
  /** Position of row i is start + i unless `explicitPositions` is set (rows after drops/splits). */
  readonly start: number;
  readonly explicitPositions: Int32Array | undefined;
  /** 1 = attended, 0 = dropped. A shared all-ones array until the first drop (copy on write). */
  live: Uint8Array;
  liveShared: boolean;
  liveCount: number;
  keyCodec: Codec;
  valueCodec: Codec;
  /** Undefined while the page is offloaded. */
  keys: EncodedBlock | undefined;
  values: EncodedBlock | undefined;
  /** Byte lengths of the blocks (kept while offloaded, for digests and reports). */
  keyByteLength: number;
  valueByteLength: number;
}

const allLiveArrays = new Map<number, Uint8Array>();

/** One frozen-by-convention all-ones mask per row count, shared by every segment with no drops. */
export function sharedAllLive(count: number): Uint8Array {
  let mask = allLiveArrays.get(count);
  if (mask === undefined) {
    mask = new Uint8Array(count).fill(1);
    allLiveArrays.set(count, mask);
  }
  return mask;
}

/** Position layout for ascending positions: contiguous runs need no per-row storage. */
export function positionLayout(positions: ArrayLike<number>): { start: number; explicitPositions: Int32Array | undefined } {
  const count = positions.length;
  const start = count > 0 ? positions[0] : 0;
  for (let i = 1; i < count; i++) {
    if (positions[i] !== start + i) return { start, explicitPositions: Int32Array.from(positions) };
  }
  return { start, explicitPositions: undefined };
}

/** Live mask for a segment: shared when every row is live, else a private copy. */
export function liveLayout(live: Uint8Array): { live: Uint8Array; liveShared: boolean; liveCount: number } {
  let liveCount = 0;
  for (let i = 0; i < live.length; i++) liveCount += live[i] ? 1 : 0;
  if (liveCount === live.length) return { live: sharedAllLive(live.length), liveShared: true, liveCount };
  return { live: Uint8Array.from(live, (flag) => (flag ? 1 : 0)), liveShared: false, liveCount };
}

export function positionAt(segment: Segment, row: number): number {
  return segment.explicitPositions === undefined ? segment.start + row : segment.explicitPositions[row];
}

/** Row of `position` in the segment, or −1. */
export function rowOf(segment: Segment, position: number): number {
  if (segment.explicitPositions !== undefined) return findPosition(segment.explicitPositions, position);
  const row = position - segment.start;
  return row >= 0 && row < segment.count ? row : -1;
}

/** Materialized positions (records, re-encoding; not for hot paths). */
export function segmentPositions(segment: Segment): Int32Array {
  if (segment.explicitPositions !== undefined) return segment.explicitPositions;
  return Int32Array.from({ length: segment.count }, (_, row) => segment.start + row);
}

/** Masks one row (copy on write of a shared mask). Returns false when it was dropped already. */
export function markDropped(segment: Segment, row: number): boolean {
  if (!segment.live[row]) return false;
  if (segment.liveShared) {
    segment.live = segment.live.slice();
    segment.liveShared = false;
  }
  segment.live[row] = 0;
  segment.liveCount -= 1;
  return true;
}

/** Bytes of per-row metadata this segment holds privately (shared masks and implicit positions cost nothing). */
export function segmentMetadataBytes(segment: Segment): number {
  return (segment.explicitPositions?.byteLength ?? 0) + (segment.liveShared ? 0 : segment.live.byteLength);
}

export interface Page {
  readonly id: number;
  readonly layer: number;
  readonly kvHead: number;
  readonly firstPosition: number;
  segments: Segment[];
  /** Key digest in the cache's KeyDigestFormat (key-digest.ts); empty without digests. */
  digest: Uint8Array;
  location: PageLocation;
  storeKey: string | undefined;
  tier: string | undefined;
  /** Encoded at flush with the layer's codecs, every row live, one segment, pageSize rows: shareable by prefix. */
  pristine: boolean;
  /** Bumped by every change of the blocks, so an offload that finishes after a change does not free the new blocks. */
  version: number;
  /** Bumped by every change attention can see (rows, masks, blocks, location): see AttendedPage.revision. */
  revision: number;
}

export function pageTokenCount(page: Page): number {
  let total = 0;
  for (const segment of page.segments) total += segment.count;
  return total;
}

export function pageLiveCount(page: Page): number {
  let total = 0;
  for (const segment of page.segments) total += segment.liveCount;
  return total;
}

export function pageBlockBytes(page: Page): number {
  let total = 0;
  for (const segment of page.segments) total += segment.keyByteLength + segment.valueByteLength;
  return total;
}

/** Index of `position` in an ascending Int32Array, or −1. */
export function findPosition(positions: Int32Array, position: number): number {
  let low = 0;
  let high = positions.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = positions[middle];
    if (value === position) return middle;
    if (value < position) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

/** Page whose range holds `position` (pages ascending by firstPosition), or −1. */
export function findPage(pages: readonly Page[], position: number, pageSize: number): number {
  let low = 0;
  let high = pages.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const first = pages[middle].firstPosition;
    if (position < first) high = middle - 1;
    else if (position >= first + pageSize) low = middle + 1;
    else return middle;
  }
  return -1;
}

/**
 * Per-channel min/max over the live rows of decoded keys (rows × dimension). Taken from the
 * decoded keys so the ArkVale bound holds for the keys attention actually scores.
 */
export function updateKeyBounds(
  keys: Float32Array,
  live: Uint8Array,
  dimension: number,
  keyMin: Float32Array,
  keyMax: Float32Array,
): void {
  const rows = live.length;
  for (let row = 0; row < rows; row++) {
    if (!live[row]) continue;
    const offset = row * dimension;
    for (let i = 0; i < dimension; i++) {
      const value = keys[offset + i];
      if (value < keyMin[i]) keyMin[i] = value;
      if (value > keyMax[i]) keyMax[i] = value;
    }
  }
}
