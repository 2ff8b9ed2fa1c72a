import type { CompressedKVCache } from "@kvpack/cache";
import type { KvCacheFactory } from "../kv/kv-cache-factory.js";
import { kvConfigKey } from "../kv/kv-config.js";
import type { PrefixCache } from "../kv/prefix-cache.js";
import type { Session } from "../kv/session-store.js";
import type { KvpackUsage } from "../openai/response-types.js";
import type { GenerationRequest } from "./generation-request.js";

/** The cache a generation runs on, and how much of the prompt it already holds. */
export interface PreparedCache {
  readonly cache: CompressedKVCache;
  /** Prompt tokens the cache holds before prefill (from the session or shared prefix pages). */
  readonly reusedTokens: number;
  readonly prefixSource: KvpackUsage["prefix_source"];
  /** Whether the cache records the token ids it is fed (it held every token so far). */
  readonly recordsTokens: boolean;
  /** Whether the cache publishes its pages as shared prefix pages (recording, no eviction policy). */
  readonly sharesPrefix: boolean;
}

/** Longest common prefix of two token lists. */
function commonPrefixLength(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let index = 0;
  while (index < limit && a[index] === b[index]) index++;
  return index;
}

/**
 * Picks the KV to start from: the session's cache truncated to the longest common token prefix,
 * else a new cache filled with the longest run of shared prefix pages, else an empty one. At least
 * one prompt token is always left to compute, since its logits start generation. Every prompt
 * token the cache will hold is recorded in it (pages are keyed by the token ids they saw).
 */
export async function prepareCache(
  request: GenerationRequest,
  session: Session | undefined,
  factory: KvCacheFactory,
  prefix: PrefixCache | undefined,
  modelFingerprint: string,
  onPrefixLookup: (hit: boolean) => void,
): Promise<PreparedCache> {
  const { promptTokens, kvConfig } = request;
  // With an eviction policy the cache no longer holds every row, so only an exact session continuation reuses it.
  const exactReplay = kvConfig.policy === null;
  let cache: CompressedKVCache | undefined;
  let reusedTokens = 0;
  let prefixSource: KvpackUsage["prefix_source"] = null;
  if (session?.cache) {
    const common = commonPrefixLength(session.tokens, promptTokens);
    const cached = session.cache.length();
    if (common > 0 && (common === session.tokens.length || exactReplay) && cached === session.tokens.length) {
      reusedTokens = Math.min(common, promptTokens.length - 1);
      if (reusedTokens < cached) session.cache.truncate(reusedTokens);
      cache = session.cache;
      prefixSource = reusedTokens > 0 ? "session" : null;
    }
  }
  // The namespace isolates tenants, models and KV configurations in every prefix key.
  cache ??= factory.create(kvConfig, `${request.keyId}\u0000${modelFingerprint}\u0000${kvConfigKey(kvConfig)}`);
  if (session && cache !== session.cache) session.cache = undefined;
  const sharesPrefix = prefix !== undefined && exactReplay;
  if (reusedTokens === 0 && sharesPrefix) {
    const restored = await prefix.restore(promptTokens, cache);
    reusedTokens = restored.reusedTokens;
    prefixSource = restored.source;
    onPrefixLookup(restored.reusedTokens > 0);
  }
  // A cache whose recorded tokens fell behind (a policy dropped rows) cannot key pages any more.
  const recording = cache.recordedTokens().length === reusedTokens;
  if (recording) cache.recordTokens(promptTokens.slice(reusedTokens), reusedTokens);
  return { cache, reusedTokens, prefixSource, recordsTokens: recording, sharesPrefix: sharesPrefix && recording };
}
