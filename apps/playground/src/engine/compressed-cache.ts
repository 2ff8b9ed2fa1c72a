import { CompressedKVCache, type KVCacheShape, type MemoryReport as CacheMemoryReport } from "@kvpack/cache";
import type { MemoryReport } from "../worker/protocol.js";
import { checkBudget, codecSpecFor, compressionLabel, type CompressionSettings } from "./compression-settings.js";
import { createPolicy } from "./policies.js";

/** Tokens per compressed page (KIVI's key group size too): a 64-token story fills two pages. */
export const playgroundPageSize = 32;

/**
 * A compressed cache for the settings. No full-precision residual window beyond the page being
 * filled, so the memory panel shows the codec's cost rather than a window of fp32 rows.
 */
export function createCompressedCache(shape: KVCacheShape, settings: CompressionSettings): CompressedKVCache {
  checkBudget(settings);
  const keys = codecSpecFor(settings, "key", shape.headDim);
  const values = codecSpecFor(settings, "value", shape.headDim);
  // KIVI groups keys over tokens: one group per page keeps every page self-contained.
  const withGroup = (spec: typeof keys) => (spec.kind === "kivi" ? { ...spec, groupSize: playgroundPageSize } : spec);
  return new CompressedKVCache({
    layers: shape.layers,
    kvHeads: shape.kvHeads,
    headDim: shape.headDim,
    keys: withGroup(keys),
    values: withGroup(values),
    pageSize: playgroundPageSize,
    residualWindow: 0,
    policy: createPolicy(settings.policy, settings.budget),
  });
}

/** The panel's view of a compressed cache: per-layer bytes next to what a dense fp32 cache holds. */
export function memoryReportFor(report: CacheMemoryReport, settings: CompressionSettings, shape: KVCacheShape, tokens: number): MemoryReport {
  const denseLayerBytes = tokens * shape.kvHeads * shape.headDim * 4 * 2;
  const fp16Bytes = tokens * shape.layers * shape.kvHeads * shape.headDim * 2 * 2;
  const compressedBytes = report.totals.totalBytes;
  return {
    label: compressionLabel(settings),
    tokens,
    denseBytes: denseLayerBytes * shape.layers,
    fp16Bytes,
    compressedBytes,
    blockBytes: report.totals.keyBytes + report.totals.valueBytes,
    overheadBytes: compressedBytes - report.totals.keyBytes - report.totals.valueBytes,
    ratioVsFp16: compressedBytes > 0 ? fp16Bytes / compressedBytes : 0,
    layers: report.layers.map((layer) => ({ dense: denseLayerBytes, compressed: layer.totalBytes })),
  };
}
