import { DenseKVCache } from "@kvpack/cache";
import type { KVCache, KVCacheShape } from "@kvpack/cache";
import { ApiError } from "../http/api-error.js";
import type { KvConfig } from "./kv-config.js";

/** fp32 bytes of `tokens` tokens (keys + values): the dense baseline every ratio is measured against. */
export function denseBytes(shape: KVCacheShape, tokens: number): number {
  return tokens * shape.layers * shape.kvHeads * shape.headDim * 4 * 2;
}

/**
 * Builds KV caches for requests. The fp32 codec is the dense cache; the others come from
 * @kvpack/cache's compressed cache.
 */
export class KvCacheFactory {
  constructor(
    private readonly shape: KVCacheShape,
    private readonly contextLength: number,
  ) {}

  /** Throws the 400 `create` would, before a request queues. */
  checkSupported(config: KvConfig): void {
    if (config.codec === "fp32" && config.policy === null) return;
    throw new ApiError(400, `codec ${config.codec} is not available in this build`, { param: "kvpack.codec", code: "unsupported_codec" });
  }

  create(config: KvConfig): KVCache {
    if (config.codec === "fp32" && config.policy === null) return new DenseKVCache({ ...this.shape, capacity: this.contextLength });
    throw new ApiError(400, `codec ${config.codec} is not available in this build`, { param: "kvpack.codec", code: "unsupported_codec" });
  }

  /**
   * Upper bound of the bytes a cache of `tokens` tokens takes (what admission reserves).
   * Dense caches allocate their whole capacity up front.
   */
  estimateBytes(config: KvConfig, tokens: number): number {
    if (config.codec === "fp32") return denseBytes(this.shape, this.contextLength);
    const kept = config.budget === null ? tokens : Math.min(tokens, config.budget + config.residualWindow);
    const elements = kept * this.shape.layers * this.shape.kvHeads * this.shape.headDim;
    const residual = Math.min(kept, config.residualWindow + 64) * this.shape.layers * this.shape.kvHeads * this.shape.headDim * 8;
    return Math.ceil((elements * (config.keyBits + config.valueBits + 8)) / 8) + residual;
  }
}
