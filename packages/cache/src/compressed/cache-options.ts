import type { AttentionBackend } from "../attention/attention-backend.js";
import type { CacheEventListener } from "../cache-event.js";
import type { CodecChoice, CodecFactory, CodecRegistry } from "../codec-registry.js";
import { CacheConfigurationError } from "../errors.js";
import type { KeyDigestFormat } from "../key-digest.js";
import type { PageTier } from "../page-store.js";
import type { Policy } from "../policy.js";

export interface CompressedKVCacheOptions {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Key codec, one for all layers or one per layer (spec or shared instance). */
  readonly keys: CodecChoice | readonly CodecChoice[];
  readonly values: CodecChoice | readonly CodecChoice[];
  /** Tokens per page (default 32). A multiple of the key codec's tokenGroup keeps pages compact. */
  readonly pageSize?: number;
  /**
   * Full-precision residual window R (default 32, a multiple of pageSize or 0). Tokens stay fp32
   * until the window holds max(R, pageSize) of them, then all are flushed into pages (KIVI).
   */
  readonly residualWindow?: number;
  /**
   * Keep a per-page key digest (per-channel min/max of the decoded keys) for ArkVale-style page
   * scoring. Default false: it costs one decode per flushed page and `keyDigestFormat` bytes.
   */
  readonly keyDigests?: boolean;
  /**
   * How digests are stored (default "fp16": 2 × headDim float16 rounded outward, 32/pageSize bits
   * per key element; "fp32" exact, "int8" one affine grid per page). See {@link KeyDigestFormat}.
   */
  readonly keyDigestFormat?: KeyDigestFormat;
  /**
   * Per-layer sliding window (Gemma 2): once a layer holds more than its window W, each append
   * drops the token W positions back (masked, and its page freed once no row of it is live), so
   * the layer attends and keeps only its last W tokens. Undefined entries attend over everything.
   */
  readonly layerWindows?: readonly (number | undefined)[];
  /** Optional upper bound on tokens per layer. */
  readonly maxTokens?: number;
  /** Shared codec instances (CachePool); or give `codecFactory`. Defaults to @kvpack/codecs' createCodec. */
  readonly codecs?: CodecRegistry;
  readonly codecFactory?: CodecFactory;
  readonly policy?: Policy;
  /** Run `policy.decide` after the last layer's attention each step (default true). */
  readonly autoApplyPolicy?: boolean;
  /** Tiers for offloading and prefix sharing; the first is the default. */
  readonly tiers?: readonly PageTier[];
  /** Model identity mixed into prefix keys, so different models never share pages. */
  readonly namespace?: string;
  /** Used in store keys of offloaded (non-prefix) pages; random by default. */
  readonly sessionId?: string;
  readonly onEvent?: CacheEventListener;
  /**
   * Computes attention over the pages (a kernel backend from outside this package); the
   * TypeScript attention serves every call it declines. Default: TypeScript only.
   */
  readonly attention?: AttentionBackend;
}

/** One codec choice per layer: the list as given (checked against the layer count) or the one choice repeated. */
export function perLayer(name: string, choice: CodecChoice | readonly CodecChoice[], layers: number): CodecChoice[] {
  if (Array.isArray(choice)) {
    if (choice.length !== layers) throw new CacheConfigurationError(`${name}: expected one codec per layer (${layers}), got ${choice.length}`);
    return [...choice];
  }
  return Array.from({ length: layers }, () => choice as CodecChoice);
}

/** Names a session's private store keys when the caller gives no id. */
export function randomSessionId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
