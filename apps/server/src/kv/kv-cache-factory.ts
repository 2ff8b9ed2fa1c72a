import { CodecRegistry, CompressedKVCache, MemoryPageStore, keyDigestByteLength } from "@kvpack/cache";
import type { KVCacheShape, PageTier } from "@kvpack/cache";
import { DiskPageStore } from "@kvpack/cache/node";
import { ApiError } from "../http/api-error.js";
import { codecSpecsFor, type KvConfig } from "./kv-config.js";
import { createPolicy, policyOffloads } from "./policy-names.js";

/** Key digests (paging policies only) in fp16, rounded outward: half the fp32 bytes, the bound stays valid. */
const digestFormat = "fp16";

/** fp32 bytes of `tokens` tokens (keys + values): the dense baseline every ratio is measured against. */
export function denseBytes(shape: KVCacheShape, tokens: number): number {
  return tokens * shape.layers * shape.kvHeads * shape.headDim * 4 * 2;
}


/**
 * Builds KV caches for requests: every request gets @kvpack/cache's CompressedKVCache with the
 * request's codecs, pages of `pageTokens` and its residual window. The "dense" baseline is the
 * same cache with the fp32 codec (exact rows in pages), so dense and compressed sessions share
 * prompt pages through one mechanism (publishPrefix / restorePrefix) and one session format.
 * Codec instances are shared between caches through one registry.
 */
export class KvCacheFactory {
  readonly codecs = new CodecRegistry();
  /** Where policies that page KV out (ArkVale) put it: disk when configured, else process memory. */
  readonly offloadTier: PageTier;

  constructor(
    readonly shape: KVCacheShape,
    private readonly contextLength: number,
    readonly pageTokens: number,
    offloadDirectory: string | undefined,
  ) {
    // Offloaded pages are scratch space for live caches: no fsync per page.
    this.offloadTier = offloadDirectory
      ? { name: "disk", store: new DiskPageStore(offloadDirectory, { durable: false }) }
      : { name: "memory", store: new MemoryPageStore() };
  }

  /** Deletes the pages policies offloaded to disk (they belong to this process's live caches only). */
  async removeOffloadedPages(): Promise<void> {
    if (this.offloadTier.store instanceof DiskPageStore) await this.offloadTier.store.clear();
  }

  /** Throws the 400 `create` would, before a request queues. */
  checkSupported(config: KvConfig): void {
    if (config.residualWindow % this.pageTokens !== 0) {
      throw new ApiError(400, `kvpack.residualWindow must be 0 or a multiple of the page size ${this.pageTokens}, got ${config.residualWindow}`, {
        param: "kvpack.residualWindow",
        code: "invalid_value",
      });
    }
    const specs = codecSpecsFor(config, this.shape.headDim, this.pageTokens);
    try {
      this.codecs.get(specs.keys);
      this.codecs.get(specs.values);
    } catch (error) {
      throw new ApiError(400, `codec ${config.codec} at ${config.keyBits}/${config.valueBits} bits is not supported here: ${(error as Error).message}`, {
        param: "kvpack.codec",
        code: "unsupported_codec",
      });
    }
  }

  /** A cache for up to the context length (pages are allocated as it grows); `namespace` scopes its prefix keys. */
  create(config: KvConfig, namespace?: string): CompressedKVCache {
    this.checkSupported(config);
    const specs = codecSpecsFor(config, this.shape.headDim, this.pageTokens);
    return new CompressedKVCache({
      ...this.shape,
      keys: specs.keys,
      values: specs.values,
      pageSize: this.pageTokens,
      residualWindow: config.residualWindow,
      maxTokens: this.contextLength,
      namespace,
      codecs: this.codecs,
      policy: config.policy !== null ? createPolicy(config.policy, config.budget) : undefined,
      keyDigests: policyOffloads(config.policy),
      keyDigestFormat: digestFormat,
      tiers: policyOffloads(config.policy) ? [this.offloadTier] : undefined,
    });
  }

  /**
   * Upper bound of the bytes a cache of `tokens` tokens takes (what admission reserves): the
   * codecs' all-in block sizes plus page metadata plus a full fp32 residual window.
   */
  estimateBytes(config: KvConfig, tokens: number): number {
    const { layers, kvHeads, headDim } = this.shape;
    const kept = config.budget === null ? tokens : Math.min(tokens, config.budget + config.residualWindow + this.pageTokens);
    const specs = codecSpecsFor(config, headDim, this.pageTokens);
    const keyCodec = this.codecs.get(specs.keys);
    const valueCodec = this.codecs.get(specs.values);
    const digestBytes = policyOffloads(config.policy) ? keyDigestByteLength(digestFormat, headDim) : 0;
    // Per page and KV head: both blocks, the key digest, and once a policy drops rows, explicit
    // positions (int32) and live flags (byte) per row (untouched pages keep them implicit).
    const rowMetadata = config.policy !== null ? this.pageTokens * 5 : 0;
    const perPageHead = keyCodec.encodedByteLength(this.pageTokens) + valueCodec.encodedByteLength(this.pageTokens) + digestBytes + rowMetadata;
    const perResidualRow = headDim * 8;
    // The fp32 residual window fills up to max(R, pageSize) rows, then flushes them all into pages,
    // so the size peaks just before a flush: take the largest size over the last flush cycle.
    const flushAt = Math.max(config.residualWindow, this.pageTokens);
    let peak = 0;
    for (let length = Math.max(0, kept - flushAt + 1); length <= kept; length++) {
      const pages = Math.floor(length / flushAt) * (flushAt / this.pageTokens);
      peak = Math.max(peak, pages * perPageHead + (length % flushAt) * perResidualRow);
    }
    // Eviction leaves partly dead pages until the policy compacts them: allow two more pages.
    const policySlack = config.policy !== null ? 2 * perPageHead : 0;
    return layers * kvHeads * (peak + policySlack);
  }
}
