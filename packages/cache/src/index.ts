export type { AttentionOptions, KVCache, KVCacheShape } from "./kv-cache.js";
export { DenseKVCache } from "./dense-kv-cache.js";
