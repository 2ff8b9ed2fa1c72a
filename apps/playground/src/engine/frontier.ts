import type { KVCacheShape } from "@kvpack/cache";
import type { FrontierEntry } from "../worker/protocol.js";
import { createCompressedCache } from "./compressed-cache.js";
import { compressionLabel, type CompressionSettings } from "./compression-settings.js";
import type { KVCapture } from "./kv-capture.js";
import { replayCapture } from "./replay.js";

// Keys centred, as the controls default to: real keys carry per-channel offsets (see @kvpack/codecs).
const base = { policy: "none", budget: 0, blockSize: 2, centerKeys: true } as const;

/** The codec grid swept for the frontier: every family, several rates, FibQuant down to ¼ bit. */
export function frontierSweep(headDim: number): CompressionSettings[] {
  const sweep: CompressionSettings[] = [
    { ...base, codec: "fp16", keyBits: 16, valueBits: 16 },
    { ...base, codec: "int8", keyBits: 8, valueBits: 8 },
    { ...base, codec: "kivi", keyBits: 4, valueBits: 4 },
    { ...base, codec: "kivi", keyBits: 2, valueBits: 2 },
    { ...base, codec: "quarot", keyBits: 4, valueBits: 4 },
    { ...base, codec: "quarot", keyBits: 3, valueBits: 3 },
    { ...base, codec: "quarot", keyBits: 2, valueBits: 2 },
  ];
  for (const bits of [4, 3, 2, 1]) sweep.push({ ...base, codec: "turboquant", keyBits: bits, valueBits: bits });
  for (const [blockSize, rates] of [
    // Larger k at higher rates means codebooks of thousands of codewords, too slow to build in a page.
    [2, [3, 2, 1, 0.5]],
    [4, [1, 0.5]],
    [8, [0.5, 0.25]],
  ] as const) {
    if (headDim % blockSize !== 0) continue;
    for (const bits of rates) sweep.push({ ...base, codec: "fibquant", blockSize, keyBits: bits, valueBits: bits });
  }
  return sweep;
}

function sameCodec(a: CompressionSettings, b: CompressionSettings): boolean {
  return a.policy === b.policy && Boolean(a.centerKeys) === Boolean(b.centerKeys) && a.codec === b.codec && a.keyBits === b.keyBits && a.valueBits === b.valueBits && (a.codec !== "fibquant" || a.blockSize === b.blockSize);
}

export interface FrontierMeasurement {
  readonly settings: CompressionSettings;
  readonly ratio: number;
  readonly cosine: number;
}

/**
 * Replays the capture through one codec's cache: mean attention cosine, and the ratio of fp16 bytes
 * to the codec's encoded blocks (codes, norms, scales; page bookkeeping is left to the memory
 * panel, since at head size 8 it would hide the codecs' differences). Throws when the codec cannot be built.
 */
export function measureFrontierPoint(capture: KVCapture, shape: KVCacheShape, settings: CompressionSettings): FrontierMeasurement {
  const cache = createCompressedCache(shape, settings);
  const { meanCosine } = replayCapture(capture, cache);
  const { totals } = cache.memoryReport();
  // Rows still in the fp32 page being filled count at fp32 size, as the cache holds them. The fp16
  // reference holds every captured token, so a policy's evictions count as savings.
  const blockBytes = totals.keyBytes + totals.valueBytes + totals.residualBytes;
  const fp16Bytes = capture.length * shape.layers * shape.kvHeads * shape.headDim * 2 * 2;
  return { settings, ratio: blockBytes > 0 ? fp16Bytes / blockBytes : 0, cosine: meanCosine };
}

/** Frontier entries for the plot, the current settings marked (measured separately when off-grid). */
export function frontierEntries(sweep: readonly FrontierMeasurement[], current: FrontierMeasurement | undefined): FrontierEntry[] {
  const entries: FrontierEntry[] = sweep
    .filter((point) => !current || !sameCodec(point.settings, current.settings))
    .map((point) => ({ label: compressionLabel(point.settings), group: groupOf(point.settings), ratio: point.ratio, cosine: point.cosine, current: false }));
  if (current) entries.push({ label: compressionLabel(current.settings), group: groupOf(current.settings), ratio: current.ratio, cosine: current.cosine, current: true });
  return entries;
}

function groupOf(settings: CompressionSettings): string {
  if (settings.codec === "fibquant") return `FibQuant k=${settings.blockSize}`;
  if (settings.codec === "fp16" || settings.codec === "fp32" || settings.codec === "int8") return "fp16 / int8";
  return { turboquant: "TurboQuant", kivi: "KIVI", quarot: "QuaRot" }[settings.codec];
}
