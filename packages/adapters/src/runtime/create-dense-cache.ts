import { DenseKVCache } from "@kvpack/cache";
import type { LanguageModelRuntime } from "./language-model-runtime.js";

/** A dense fp32 KVCache shaped for `runtime`, holding `capacity` tokens (default: the model's context length). */
export function createDenseCache(runtime: LanguageModelRuntime, capacity = runtime.maxSequenceLength): DenseKVCache {
  return new DenseKVCache({ ...runtime.cacheShape, capacity });
}
