import type { KVCache } from "@kvpack/cache";

/**
 * Appends `length` tokens to `cache` from per-layer arrays in the KVCache.readLayer layout
 * ([kvHead][position][headDim]), token by token as a runtime would: used to grow a dense cache and
 * to restore a dense session.
 */
export function appendHeadMajorLayers(cache: KVCache, layerKeys: readonly Float32Array[], layerValues: readonly Float32Array[], length: number): void {
  const { layers, kvHeads, headDim } = cache;
  const rowKeys = new Float32Array(kvHeads * headDim);
  const rowValues = new Float32Array(kvHeads * headDim);
  for (let position = 0; position < length; position++) {
    for (let layer = 0; layer < layers; layer++) {
      for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
        const from = (kvHead * length + position) * headDim;
        rowKeys.set(layerKeys[layer].subarray(from, from + headDim), kvHead * headDim);
        rowValues.set(layerValues[layer].subarray(from, from + headDim), kvHead * headDim);
      }
      cache.append(layer, rowKeys, rowValues);
    }
  }
}
