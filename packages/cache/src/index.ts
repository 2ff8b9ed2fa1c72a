export type { AttentionOptions, KVCache, KVCacheShape } from "./kv-cache.js";
export { DenseKVCache } from "./dense-kv-cache.js";
export { CompressedKVCache } from "./compressed/compressed-kv-cache.js";
export type { ApplyReport, CompressedKVCacheOptions, TokenRow } from "./compressed/compressed-kv-cache.js";
export { TypeScriptAttention } from "./attention/typescript-attention.js";
export type { AttendedPage, AttendedSegment, AttentionBackend, LayerAttentionRequest, ResidualRows } from "./attention/attention-backend.js";
export { decodeKeyDigest, encodeKeyDigest, keyDigestByteLength, keyDigestFormats } from "./key-digest.js";
export type { KeyDigestFormat } from "./key-digest.js";
export { CachePool } from "./cache-pool.js";
export type { BudgetReport, CachePoolOptions } from "./cache-pool.js";
export { restoreSession, saveSession, sessionFormatVersion } from "./session-format.js";
export type { RestoreSessionOptions } from "./session-format.js";
export { CodecRegistry, canonicalSpecKey, isCodec } from "./codec-registry.js";
export type { CodecChoice, CodecFactory } from "./codec-registry.js";
export type {
  AttentionStatistics,
  FlushContext,
  FlushSegmentPlan,
  PageDigest,
  PageLocation,
  Policy,
  PolicyAction,
  PolicyActionKind,
  PolicyCacheView,
} from "./policy.js";
export { NoEvictionPolicy } from "./no-eviction-policy.js";
export type { HeadMemory, LayerMemory, MemoryReport, MemoryTotals, PageMemory } from "./memory-report.js";
export { MemoryPageStore } from "./page-store.js";
export type { PageStore, PageTier } from "./page-store.js";
export { decodePageRecord, encodePageRecord, pageRecordVersion } from "./page-record.js";
export type { PageRecord, PageRecordSegment } from "./page-record.js";
export { nextPrefixKey, prefixRoot, prefixStoreKey } from "./prefix-key.js";
export type { CacheEvent, CacheEventListener } from "./cache-event.js";
export { CacheConfigurationError, CorruptPageError, KVCacheError, PageStateError, SessionFormatError } from "./errors.js";
export { crc32 } from "./crc32.js";
export { sha256, toHex } from "./sha256.js";
