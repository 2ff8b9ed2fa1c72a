import type { KVCache, KVCacheShape } from "@kvpack/cache";
import { ModelArgumentError } from "../model/model-format-error.js";

/** Validates a forward() call: token in the vocabulary, position a non-negative integer, cache of the model's shape. */
export function checkForwardArguments(token: number, position: number, cache: KVCache, vocabSize: number, shape: KVCacheShape): void {
  if (!Number.isInteger(token) || token < 0 || token >= vocabSize) {
    throw new ModelArgumentError(`forward: token ${token} is outside the vocabulary [0, ${vocabSize})`);
  }
  if (!Number.isInteger(position) || position < 0) {
    throw new ModelArgumentError(`forward: position must be a non-negative integer, got ${position}`);
  }
  if (cache.layers !== shape.layers || cache.kvHeads !== shape.kvHeads || cache.headDim !== shape.headDim) {
    throw new ModelArgumentError(
      `forward: cache shape (layers ${cache.layers}, kvHeads ${cache.kvHeads}, headDim ${cache.headDim}) does not match the model (layers ${shape.layers}, kvHeads ${shape.kvHeads}, headDim ${shape.headDim})`,
    );
  }
}
