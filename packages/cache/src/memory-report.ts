/**
 * Structured byte accounting of a compressed cache. Every number is exact: block bytes are the
 * lengths of the codecs' `EncodedBlock.data` (codes, norms, scales, codec metadata all inside), split
 * by the codecs' byteLayout into codes, side information and block headers,
 * page metadata are the typed arrays the cache keeps per page, the residual window counts the
 * fp32 rows it holds. `totalBytes` is the sum of all parts and equals `byteLength()`.
 */
export interface PageMemory {
  readonly pageId: number;
  readonly firstPosition: number;
  /** Rows stored in the page's blocks (live or masked). */
  readonly tokens: number;
  /** Rows still attended (not dropped). */
  readonly liveTokens: number;
  readonly location: "memory" | "offloading" | "offloaded";
  readonly keyCodecIds: readonly string[];
  readonly valueCodecIds: readonly string[];
  /** Key block bytes held in memory (0 once offloaded). */
  readonly keyBytes: number;
  readonly valueBytes: number;
  /**
   * Of keyBytes + valueBytes: the quantized coordinates (Codec.byteLayout; all of a block whose codec
   * has no byteLayout), the side information (norms, scales, zero points, block means) and the
   * 4-byte block headers.
   */
  readonly codeBytes: number;
  readonly sideBytes: number;
  readonly blockHeaderBytes: number;
  /** Key digest: per-channel min and max, fp32. */
  readonly digestBytes: number;
  /** Positions (int32 per row) and live mask (1 byte per row). */
  readonly metadataBytes: number;
  readonly totalBytes: number;
}

export interface HeadMemory {
  readonly kvHead: number;
  readonly pages: readonly PageMemory[];
  readonly residualTokens: number;
  /** fp32 keys and values of the residual rows. */
  readonly residualBytes: number;
  /** Live tokens of this head (pages in memory or offloaded, plus residual). */
  readonly liveTokens: number;
  readonly totalBytes: number;
}

export interface LayerMemory {
  readonly layer: number;
  readonly length: number;
  readonly heads: readonly HeadMemory[];
  readonly totalBytes: number;
}

export interface MemoryTotals {
  readonly pages: number;
  readonly offloadedPages: number;
  /** Block bytes of offloaded pages: held by their tiers, not counted in totalBytes. */
  readonly offloadedBytes: number;
  readonly keyBytes: number;
  readonly valueBytes: number;
  /** Of keyBytes + valueBytes, in memory: codes, side information (norms, scales), block headers (PageMemory's). */
  readonly codeBytes: number;
  readonly sideBytes: number;
  readonly blockHeaderBytes: number;
  readonly digestBytes: number;
  readonly metadataBytes: number;
  readonly residualBytes: number;
  /** Rows attended by the cache, summed over layers and KV heads. */
  readonly liveTokens: number;
  readonly totalBytes: number;
  /** What an fp16 cache of the same live tokens would take: liveTokens × headDim × 2 bytes × 2 (K and V). */
  readonly fp16Bytes: number;
  /** fp16Bytes / totalBytes (Infinity for an empty cache is reported as 0). */
  readonly compressionRatio: number;
  /** Bytes per cached element all-in: totalBytes × 8 / (liveTokens × headDim × 2). */
  readonly bitsPerElement: number;
}

export interface MemoryReport {
  readonly layers: readonly LayerMemory[];
  readonly totals: MemoryTotals;
}
