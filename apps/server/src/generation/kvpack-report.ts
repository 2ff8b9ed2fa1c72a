import type { CompressedKVCache } from "@kvpack/cache";
import { denseBytes } from "../kv/kv-cache-factory.js";
import type { KvpackUsage } from "../openai/response-types.js";
import type { DecodeResult } from "./decode-tokens.js";
import type { GenerationRequest } from "./generation-request.js";
import type { PreparedCache } from "./prepare-cache.js";

/** The `kvpack` block of a response: the KV configuration, where the prefix came from, bytes vs fp32, speed. */
export function kvpackReport(request: GenerationRequest, prepared: PreparedCache, cache: CompressedKVCache, decoded: DecodeResult): KvpackUsage {
  const kvBytes = cache.byteLength();
  const dense = denseBytes(cache, cache.length());
  return {
    codec: request.kvConfig.codec,
    key_bits: request.kvConfig.keyBits,
    value_bits: request.kvConfig.valueBits,
    policy: request.kvConfig.policy,
    session: request.sessionId,
    reused_tokens: prepared.reusedTokens,
    prefix_source: prepared.prefixSource,
    kv_bytes: kvBytes,
    dense_kv_bytes: dense,
    compression_ratio: kvBytes > 0 ? dense / kvBytes : 0,
    time_to_first_token_ms: decoded.firstTokenAt > 0 ? decoded.firstTokenAt - request.receivedAt : 0,
    tokens_per_second: tokensPerSecond(decoded),
  };
}

export function tokensPerSecond(decoded: DecodeResult): number {
  return decoded.decodeSeconds > 0 ? decoded.generated / decoded.decodeSeconds : 0;
}
