import type { Codec, EncodedBlock } from "@kvpack/codecs";
import type { PageLocation } from "./policy.js";

/**
 * Internal page layout. A page holds the rows of one layer × KV head whose positions fall in
 * [firstPosition, firstPosition + pageSize). Its rows live in one or more segments: one per codec
 * pair (mixed precision per token adds segments). Positions and live flags stay in memory when the
 * blocks are offloaded, so drops and digests work on offloaded pages too.
 */
export interface Segment {
  /** Ascending positions of the rows, one per block row. */
  positions: Int32Array;
  /** 1 = attended, 0 = dropped (masked out of attention). */
  live: Uint8Array;
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

export interface Page {
  readonly id: number;
  readonly layer: number;
  readonly kvHead: number;
  readonly firstPosition: number;
  segments: Segment[];
  keyMin: Float32Array;
  keyMax: Float32Array;
  location: PageLocation;
  storeKey: string | undefined;
  tier: string | undefined;
  /** Encoded at flush with the layer's codecs, every row live, one segment, pageSize rows: shareable by prefix. */
  pristine: boolean;
  /** Bumped by every change, so an offload that finishes after a change does not free the new blocks. */
  version: number;
}

export function pageTokenCount(page: Page): number {
  let total = 0;
  for (const segment of page.segments) total += segment.positions.length;
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
