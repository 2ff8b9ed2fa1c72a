import type { CodecSpec } from "@kvpack/codecs";
import type { PageRecord, PageRecordSegment } from "../page-record.js";
import { type Page, positionAt, segmentPositions } from "./page.js";
import type { PageDigests } from "./page-digests.js";
import { CorruptPageError } from "../errors.js";

/** A page as the record tiers and snapshots store (page-record.ts), blocks included when asked. */
export function pageToRecord(page: Page, headDim: number, digests: PageDigests, withBlocks: boolean): PageRecord {
  const segments: PageRecordSegment[] = page.segments.map((segment) => ({
    keySpec: segment.keyCodec.spec as CodecSpec,
    valueSpec: segment.valueCodec.spec as CodecSpec,
    keyCodecId: segment.keyCodec.codecId,
    valueCodecId: segment.valueCodec.codecId,
    positions: segmentPositions(segment),
    live: segment.live,
    keyData: withBlocks ? segment.keys?.data : undefined,
    valueData: withBlocks ? segment.values?.data : undefined,
    keyByteLength: segment.keyByteLength,
    valueByteLength: segment.valueByteLength,
  }));
  return { layer: page.layer, kvHead: page.kvHead, firstPosition: page.firstPosition, headDim, segments, ...digests.bounds(page) };
}

/**
 * Checks that a record read back for an offloaded page is that page's (same place, shape, codec
 * ids, block sizes and positions); a mismatch is corruption and the page is never attended.
 */
export function checkRecordMatchesPage(record: PageRecord, page: Page, headDim: number, key: string): void {
  const problem = (reason: string): CorruptPageError => new CorruptPageError(`record does not match page ${page.id}: ${reason}`, key);
  if (record.layer !== page.layer || record.kvHead !== page.kvHead || record.firstPosition !== page.firstPosition) {
    throw problem("layer, KV head or first position differ");
  }
  if (record.headDim !== headDim || record.segments.length !== page.segments.length) throw problem("shape differs");
  record.segments.forEach((stored, index) => {
    const segment = page.segments[index];
    if (stored.keyData === undefined || stored.valueData === undefined) throw problem("blocks absent");
    if (stored.keyCodecId !== segment.keyCodec.codecId || stored.valueCodecId !== segment.valueCodec.codecId) throw problem("codec ids differ");
    if (stored.keyData.length !== segment.keyByteLength || stored.valueData.length !== segment.valueByteLength) throw problem("block sizes differ");
    if (stored.positions.length !== segment.count || stored.positions.some((value, i) => value !== positionAt(segment, i))) {
      throw problem("positions differ");
    }
  });
}
