import { CompressedKVCache, type KVCacheShape, type MemoryReport as CacheMemoryReport } from "@kvpack/cache";
import type { ByteBreakdown, MemoryReport } from "../worker/protocol.js";
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
    // Gemma 2's sliding-window layers keep only their last W tokens, as the model attends.
    ...(shape.layerWindows ? { layerWindows: shape.layerWindows } : {}),
    policy: createPolicy(settings.policy, settings.budget),
  });
}

/** Where one layer's bytes go, from the cache's page accounting (codes / side information split by the codecs' byteLayout). */
function layerBreakdown(layer: CacheMemoryReport["layers"][number]): ByteBreakdown {
  let codes = 0;
  let normsAndScales = 0;
  let pageMetadata = 0;
  let residualWindow = 0;
  for (const head of layer.heads) {
    for (const page of head.pages) {
      codes += page.codeBytes;
      normsAndScales += page.sideBytes;
      pageMetadata += page.blockHeaderBytes + page.digestBytes + page.metadataBytes;
    }
    residualWindow += head.residualBytes;
  }
  return { codes, normsAndScales, pageMetadata, residualWindow };
}

/** The panel's view of a compressed cache: per-layer bytes by part, next to what a dense fp32 cache holds. */
export function memoryReportFor(report: CacheMemoryReport, settings: CompressionSettings, shape: KVCacheShape, tokens: number): MemoryReport {
  const denseLayerBytes = tokens * shape.kvHeads * shape.headDim * 4 * 2;
  const fp16Bytes = tokens * shape.layers * shape.kvHeads * shape.headDim * 2 * 2;
  const compressedBytes = report.totals.totalBytes;
  const layers = report.layers.map((layer) => ({ dense: denseLayerBytes, fp16: denseLayerBytes / 2, compressed: layer.totalBytes, ...layerBreakdown(layer) }));
  const sum = (part: keyof ByteBreakdown) => layers.reduce((total, layer) => total + layer[part], 0);
  return {
    label: compressionLabel(settings),
    tokens,
    denseBytes: denseLayerBytes * shape.layers,
    fp16Bytes,
    compressedBytes,
    breakdown: { codes: sum("codes"), normsAndScales: sum("normsAndScales"), pageMetadata: sum("pageMetadata"), residualWindow: sum("residualWindow") },
    ratioVsFp16: compressedBytes > 0 ? fp16Bytes / compressedBytes : 0,
    layers,
  };
}
