import { type AttentionStatistics, CompressedKVCache, type CompressedKVCacheOptions, MemoryPageStore } from "@kvpack/cache";
import type { CodecSpec } from "@kvpack/codecs";

/** Deterministic floats in [−1, 1) (mulberry32), for keys, values and queries in tests. */
export function seededFloats(count: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2 ** 31 - 1;
  }
  return out;
}

export interface TestCacheOptions extends Partial<CompressedKVCacheOptions> {
  readonly codec?: "fp32" | "fp16";
}

/** A compressed cache with exact (fp32) or fp16 codecs, no residual window, key digests and a memory tier. */
export function testCache(options: TestCacheOptions & { layers: number; kvHeads: number; headDim: number }): CompressedKVCache {
  const spec: CodecSpec = { kind: options.codec ?? "fp32", dimension: options.headDim };
  return new CompressedKVCache({
    keys: spec,
    values: spec,
    pageSize: 4,
    residualWindow: 0,
    tiers: [{ name: "memory", store: new MemoryPageStore() }],
    autoApplyPolicy: false,
    keyDigests: true,
    ...options,
  });
}

/** Appends `count` tokens to every layer; keys from `keyOf(layer, position)` or seeded random. */
export function appendTokens(
  cache: CompressedKVCache,
  count: number,
  keyOf?: (layer: number, position: number, kvHead: number) => Float32Array | undefined,
): void {
  const stride = cache.kvHeads * cache.headDim;
  for (let t = 0; t < count; t++) {
    for (let layer = 0; layer < cache.layers; layer++) {
      const position = cache.length(layer);
      const keys = seededFloats(stride, 1000 + position * 31 + layer * 7919);
      for (let kvHead = 0; kvHead < cache.kvHeads; kvHead++) {
        const key = keyOf?.(layer, position, kvHead);
        if (key) keys.set(key, kvHead * cache.headDim);
      }
      cache.append(layer, keys, seededFloats(stride, 5000 + position * 31 + layer * 7919));
    }
  }
}

/** Hand-made attention statistics: `weightOf(head, position)` fills heads × length. */
export function statistics(
  layer: number,
  step: number,
  heads: number,
  kvHeads: number,
  length: number,
  weightOf: (head: number, position: number) => number,
  queries: Float32Array = new Float32Array(0),
): AttentionStatistics {
  const weights = new Float32Array(heads * length);
  for (let head = 0; head < heads; head++) for (let position = 0; position < length; position++) weights[head * length + position] = weightOf(head, position);
  return { layer, step, heads, kvHeads, length, weights, queries };
}

/** Live positions of one layer × KV head, ascending. */
export function livePositions(cache: CompressedKVCache, layer: number, kvHead: number): number[] {
  const live: number[] = [];
  for (let position = 0; position < cache.length(layer); position++) if (cache.isLive(layer, kvHead, position)) live.push(position);
  return live;
}
