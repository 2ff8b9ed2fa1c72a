import type { Codec, EncodedBlock } from "@kvpack/codecs";
import type { PageLocation } from "../policy.js";

/**
 * The seam between the cache and whatever computes attention over its pages. The cache owns the
 * pages and hands a backend read-only views of one layer per call; the TypeScript backend
 * (typescript-attention.ts) is the reference, kernel backends (WASM SIMD, WebGPU) live outside
 * this package and are plugged in with `CompressedKVCacheOptions.attention` or
 * `setAttentionBackend`, so the cache never imports a kernel.
 */
export interface AttentionBackend {
  /** Shown in reports ("typescript", "wasm", …). */
  readonly name: string;
  /**
   * Writes softmax(scale · q·Kᵀ)·V of every query head into `request.out`, and each live row's
   * weight into `request.weightsOut` (by position) when given. Returns false when it cannot serve
   * this layer (e.g. a codec it has no kernel for): the cache then attends in TypeScript.
   */
  attendLayer(request: LayerAttentionRequest): boolean;
  /** A page left the cache (dropped, truncated away, cache emptied): free anything derived from it. */
  pageReleased?(pageId: number): void;
}

/** One layer's attention for one decoding step, as the cache hands it to a backend. */
export interface LayerAttentionRequest {
  readonly layer: number;
  /** Query heads; query head h reads KV head ⌊h / (heads / kvHeads)⌋ (GQA). */
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly scale: number;
  /** Positions of the layer: weight rows are this long. */
  readonly length: number;
  /** heads × headDim. */
  readonly queries: Float32Array;
  /** heads × headDim, overwritten. */
  readonly out: Float32Array;
  /** heads × length, zeroed by the cache; undefined when nobody asked for weights. */
  readonly weightsOut: Float32Array | undefined;
  /** Pages per KV head, ascending by first position. Offloaded pages have no blocks and take no weight. */
  readonly pages: readonly (readonly AttendedPage[])[];
  readonly residual: ResidualRows;
}

/** A page as attention reads it. */
export interface AttendedPage {
  /** Unique in the process (across caches and forks) for the page's lifetime. */
  readonly id: number;
  readonly firstPosition: number;
  readonly location: PageLocation;
  readonly segments: readonly AttendedSegment[];
  /**
   * Bumped whenever the page's rows, live masks, blocks or location change: a backend that keeps
   * derived copies (rows resident in WASM or GPU memory) re-derives when it differs.
   */
  readonly revision: number;
}

/** Rows of one page encoded by one key/value codec pair. */
export interface AttendedSegment {
  readonly count: number;
  /** Position of row i is start + i unless `explicitPositions` is set. */
  readonly start: number;
  readonly explicitPositions: Int32Array | undefined;
  /** 1 = attended, 0 = dropped. */
  readonly live: Uint8Array;
  readonly liveCount: number;
  readonly keyCodec: Codec;
  readonly valueCodec: Codec;
  /** Undefined while the page is offloaded. */
  readonly keys: EncodedBlock | undefined;
  readonly values: EncodedBlock | undefined;
}

/** The full-precision residual window of a layer (every KV head), as attention reads it. */
export interface ResidualRows {
  /** Row-major keys and values; row r of KV head h starts at (h · stride + r) · headDim. */
  readonly keys: Float32Array;
  readonly values: Float32Array;
  /** Live flag of row r of KV head h at h · stride + r. */
  readonly live: Uint8Array;
  /** Rows held per KV head. */
  readonly count: number;
  /** Rows reserved per KV head. */
  readonly stride: number;
  /** Position of row 0. */
  readonly start: number;
}
