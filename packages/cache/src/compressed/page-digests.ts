import type { EncodedBlock } from "@kvpack/codecs";
import { type KeyDigestFormat, checkKeyDigestFormat, decodeKeyDigest, encodeKeyDigest, keyDigestByteLength } from "../key-digest.js";
import type { PageDigest } from "../policy.js";
import { type Page, pageBlockBytes, pageLiveCount, pageTokenCount, updateKeyBounds } from "./page.js";
import type { RowDecoder } from "./row-decoder.js";

/** Shared by every page of a cache built without key digests. */
const emptyDigest = new Uint8Array(0);
const emptyBounds = new Float32Array(0);

/**
 * Per-page key digests (per-channel min/max of the decoded keys, ArkVale) in the cache's
 * {@link KeyDigestFormat}: created with each page, recomputed when its rows change, decoded for
 * policies. Without digests every method is a no-op on an empty digest.
 */
export class PageDigests {
  private readonly keyMin: Float32Array;
  private readonly keyMax: Float32Array;

  constructor(
    readonly enabled: boolean,
    readonly format: KeyDigestFormat,
    private readonly headDim: number,
    private readonly decoder: RowDecoder,
  ) {
    checkKeyDigestFormat(format);
    this.keyMin = new Float32Array(enabled ? headDim : 0);
    this.keyMax = new Float32Array(enabled ? headDim : 0);
  }

  /** Storage for a new page's digest. */
  create(): Uint8Array {
    return this.enabled ? new Uint8Array(keyDigestByteLength(this.format, this.headDim)) : emptyDigest;
  }

  /** From the decoded keys of the page's live rows (resident pages only), rounded outward into the format. */
  recompute(page: Page): void {
    if (!this.enabled) return;
    const { keyMin, keyMax } = this;
    keyMin.fill(Infinity);
    keyMax.fill(-Infinity);
    for (const segment of page.segments) {
      const keys = this.decoder.keys(segment.keyCodec, segment.keys as EncodedBlock, segment.count);
      updateKeyBounds(keys, segment.live, this.headDim, keyMin, keyMax);
    }
    encodeKeyDigest(this.format, keyMin, keyMax, this.headDim, page.digest);
  }

  /** Takes a digest given as min/max (a page record's) when it has one, else recomputes it (resident pages). */
  adopt(page: Page, keyMin: Float32Array, keyMax: Float32Array): void {
    if (!this.enabled) return;
    // Re-rounding a stored bound outward keeps it a bound.
    if (keyMin.length === this.headDim) encodeKeyDigest(this.format, keyMin, keyMax, this.headDim, page.digest);
    else if (page.location !== "offloaded") this.recompute(page);
  }

  /** The page's digest decoded (fresh arrays; empty without digests). */
  bounds(page: Page): { keyMin: Float32Array; keyMax: Float32Array } {
    if (page.digest.length === 0) return { keyMin: emptyBounds, keyMax: emptyBounds };
    const keyMin = new Float32Array(this.headDim);
    const keyMax = new Float32Array(this.headDim);
    decodeKeyDigest(this.format, page.digest, this.headDim, keyMin, keyMax);
    return { keyMin, keyMax };
  }

  /** What a policy sees of a page (policy.ts PageDigest): place, counts, codecs, bytes, decoded bounds. */
  describe(page: Page): PageDigest {
    return {
      pageId: page.id,
      layer: page.layer,
      kvHead: page.kvHead,
      firstPosition: page.firstPosition,
      tokenCount: pageTokenCount(page),
      liveCount: pageLiveCount(page),
      location: page.location,
      keyCodecIds: page.segments.map((segment) => segment.keyCodec.codecId),
      valueCodecIds: page.segments.map((segment) => segment.valueCodec.codecId),
      blockBytes: pageBlockBytes(page),
      ...this.bounds(page),
      storeKey: page.storeKey,
      tier: page.tier,
    };
  }
}
