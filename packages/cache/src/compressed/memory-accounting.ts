import type { Codec } from "@kvpack/codecs";
import type { HeadMemory, LayerMemory, MemoryReport, PageMemory } from "../memory-report.js";
import type { CacheLayout } from "./cache-layout.js";
import type { LayerStorage } from "./layer-storage.js";
import { type Page, pageBlockBytes, pageLiveCount, pageTokenCount, segmentMetadataBytes } from "./page.js";

interface PageBytes {
  keyBytes: number;
  valueBytes: number;
  codeBytes: number;
  sideBytes: number;
  blockHeaderBytes: number;
  digestBytes: number;
  metadataBytes: number;
  totalBytes: number;
}

/** A block's codes / side information / header split (Codec.byteLayout); a codec without one counts all as codes. */
function blockLayout(codec: Codec, count: number, byteLength: number): { codeBytes: number; sideBytes: number; headerBytes: number } {
  const layout = codec.byteLayout?.(count);
  if (!layout || layout.headerBytes + layout.codeBytes + layout.sideBytes !== byteLength) return { codeBytes: byteLength, sideBytes: 0, headerBytes: 0 };
  return layout;
}

/** Bytes a page holds in memory: blocks while resident, plus its digest and private per-row metadata. */
export function pageBytes(page: Page): PageBytes {
  let keyBytes = 0;
  let valueBytes = 0;
  let codeBytes = 0;
  let sideBytes = 0;
  let blockHeaderBytes = 0;
  let metadataBytes = 0;
  const resident = page.location !== "offloaded";
  for (const segment of page.segments) {
    if (resident) {
      keyBytes += segment.keyByteLength;
      valueBytes += segment.valueByteLength;
      for (const layout of [blockLayout(segment.keyCodec, segment.count, segment.keyByteLength), blockLayout(segment.valueCodec, segment.count, segment.valueByteLength)]) {
        codeBytes += layout.codeBytes;
        sideBytes += layout.sideBytes;
        blockHeaderBytes += layout.headerBytes;
      }
    }
    metadataBytes += segmentMetadataBytes(segment);
  }
  const digestBytes = page.digest.byteLength;
  return { keyBytes, valueBytes, codeBytes, sideBytes, blockHeaderBytes, digestBytes, metadataBytes, totalBytes: keyBytes + valueBytes + digestBytes + metadataBytes };
}

/** fp32 keys and values of the residual rows held by one KV head. */
function residualHeadBytes(layout: CacheLayout, residualCount: number): number {
  return residualCount * layout.headDim * 4 * 2;
}

/** Every byte the cache holds (equals memoryReport().totals.totalBytes). */
export function cacheByteLength(layout: CacheLayout, storage: LayerStorage): number {
  let total = 0;
  for (const state of storage.layers) {
    for (const pages of state.pages) for (const page of pages) total += pageBytes(page).totalBytes;
    total += layout.kvHeads * residualHeadBytes(layout, state.residualCount);
  }
  return total;
}

/**
 * Every byte several caches hold together, each encoded block counted once: forks share the
 * parent's blocks, so a budget over n continuations of one prompt counts the prompt once.
 */
export function sharedByteLength(caches: readonly { readonly layout: CacheLayout; readonly storage: LayerStorage }[]): number {
  const seen = new Set<Uint8Array>();
  let total = 0;
  for (const { layout, storage } of caches) {
    for (const state of storage.layers) {
      total += layout.kvHeads * residualHeadBytes(layout, state.residualCount);
      for (const pages of state.pages) {
        for (const page of pages) {
          total += page.digest.byteLength;
          for (const segment of page.segments) {
            total += segmentMetadataBytes(segment);
            for (const block of [segment.keys, segment.values]) {
              if (block === undefined || seen.has(block.data)) continue;
              seen.add(block.data);
              total += block.data.length;
            }
          }
        }
      }
    }
  }
  return total;
}

/** The byte accounting per layer, KV head and page (memory-report.ts). */
export function memoryReport(layout: CacheLayout, storage: LayerStorage): MemoryReport {
  const layers: LayerMemory[] = [];
  const totals = { pages: 0, offloadedPages: 0, offloadedBytes: 0, keyBytes: 0, valueBytes: 0, codeBytes: 0, sideBytes: 0, blockHeaderBytes: 0, digestBytes: 0, metadataBytes: 0, residualBytes: 0, liveTokens: 0 };
  storage.layers.forEach((state, layer) => {
    const heads: HeadMemory[] = [];
    let layerTotal = 0;
    for (let kvHead = 0; kvHead < layout.kvHeads; kvHead++) {
      const pages: PageMemory[] = [];
      let headTotal = 0;
      let headLive = 0;
      for (const page of state.pages[kvHead]) {
        const bytes = pageBytes(page);
        const live = pageLiveCount(page);
        pages.push({
          pageId: page.id,
          firstPosition: page.firstPosition,
          tokens: pageTokenCount(page),
          liveTokens: live,
          location: page.location,
          keyCodecIds: page.segments.map((segment) => segment.keyCodec.codecId),
          valueCodecIds: page.segments.map((segment) => segment.valueCodec.codecId),
          ...bytes,
        });
        totals.pages += 1;
        if (page.location === "offloaded") {
          totals.offloadedPages += 1;
          totals.offloadedBytes += pageBlockBytes(page);
        }
        totals.keyBytes += bytes.keyBytes;
        totals.valueBytes += bytes.valueBytes;
        totals.codeBytes += bytes.codeBytes;
        totals.sideBytes += bytes.sideBytes;
        totals.blockHeaderBytes += bytes.blockHeaderBytes;
        totals.digestBytes += bytes.digestBytes;
        totals.metadataBytes += bytes.metadataBytes;
        headTotal += bytes.totalBytes;
        headLive += live;
      }
      const residualTokens = storage.residualLiveCount(state, kvHead);
      const residualBytes = residualHeadBytes(layout, state.residualCount);
      totals.residualBytes += residualBytes;
      headTotal += residualBytes;
      headLive += residualTokens;
      totals.liveTokens += headLive;
      layerTotal += headTotal;
      heads.push({ kvHead, pages, residualTokens, residualBytes, liveTokens: headLive, totalBytes: headTotal });
    }
    layers.push({ layer, length: state.length, heads, totalBytes: layerTotal });
  });
  const totalBytes = totals.keyBytes + totals.valueBytes + totals.digestBytes + totals.metadataBytes + totals.residualBytes;
  const fp16Bytes = totals.liveTokens * layout.headDim * 2 * 2;
  return {
    layers,
    totals: {
      ...totals,
      totalBytes,
      fp16Bytes,
      compressionRatio: totalBytes > 0 ? fp16Bytes / totalBytes : 0,
      bitsPerElement: totals.liveTokens > 0 ? (totalBytes * 8) / (totals.liveTokens * layout.headDim * 2) : 0,
    },
  };
}
