import type { KVCache } from "@kvpack/cache";
import { cosineSimilarity, KVCapture } from "./kv-capture.js";

export interface ReplayResult {
  /** The cache after every captured token was appended (for memory accounting). */
  readonly cache: KVCache;
  /** Queries, outputs and attention weights of the replayed cache. */
  readonly capture: KVCapture;
  /** Mean over layers, positions and query heads of cos(dense attention output, replayed output). */
  readonly meanCosine: number;
}

/**
 * Feeds the dense run's captured keys and values, token by token, into `cache` and attends with
 * the captured queries, exactly as the runtime would (append then attend, layer by layer). The
 * attention outputs are compared with the dense ones head by head, so the fidelity is measured on
 * the same token sequence for every codec.
 */
export function replayCapture(dense: KVCapture, cache: KVCache, onProgress?: (done: number, total: number) => void): ReplayResult {
  const { layers, heads, kvHeads, headDim } = dense.shape;
  const length = dense.length;
  const capture = new KVCapture({ ...dense.shape, capacity: Math.max(1, length) });
  const output = new Float32Array(heads * headDim);
  const weights = new Float32Array(heads * length);
  const kvStride = kvHeads * headDim;
  const queryStride = heads * headDim;
  const scale = 1 / Math.sqrt(headDim);
  let cosineSum = 0;
  let cosineCount = 0;
  for (let position = 0; position < length; position++) {
    for (let layer = 0; layer < layers; layer++) {
      const keys = dense.keys[layer].subarray(position * kvStride, (position + 1) * kvStride);
      const values = dense.values[layer].subarray(position * kvStride, (position + 1) * kvStride);
      const queries = dense.queries[layer].subarray(position * queryStride, (position + 1) * queryStride);
      cache.append(layer, keys, values);
      const cacheLength = cache.length(layer);
      const weightsOut = capture.captureAttentionWeights ? weights.subarray(0, heads * cacheLength) : undefined;
      cache.attend(layer, queries, output, { heads, scale, weightsOut });
      capture.record(layer, position, queries, undefined, undefined, output, weightsOut, cacheLength);
      for (let head = 0; head < heads; head++) {
        cosineSum += cosineSimilarity(dense.outputs[layer], position * queryStride + head * headDim, output, head * headDim, headDim);
        cosineCount++;
      }
    }
    onProgress?.(position + 1, length);
  }
  return { cache, capture, meanCosine: cosineCount > 0 ? cosineSum / cosineCount : 1 };
}
