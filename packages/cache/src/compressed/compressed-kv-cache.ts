import type { Codec, CodecSpec } from "@kvpack/codecs";
import type { AttentionBackend } from "../attention/attention-backend.js";
import type { CacheEvent, CacheEventListener } from "../cache-event.js";
import { type CodecChoice, CodecRegistry } from "../codec-registry.js";
import { CacheConfigurationError, PageStateError } from "../errors.js";
import type { KeyDigestFormat } from "../key-digest.js";
import type { AttentionOptions, KVCache } from "../kv-cache.js";
import type { MemoryReport } from "../memory-report.js";
import { NoEvictionPolicy } from "../no-eviction-policy.js";
import { encodePageRecord } from "../page-record.js";
import type { PageTier } from "../page-store.js";
import type { AttentionStatistics, PageDigest, Policy, PolicyAction, PolicyCacheView } from "../policy.js";
import { type CacheLayout, cacheLayout, checkFinite } from "./cache-layout.js";
import { type CompressedKVCacheOptions, perLayer, randomSessionId } from "./cache-options.js";
import { type CacheSnapshot, exportLayers, importLayers, type SnapshotParts } from "./cache-snapshot.js";
import { checkLayerWindows } from "../layer-windows.js";
import { LayerAttention } from "./layer-attention.js";
import { SoftCappedAttention } from "./soft-capped-attention.js";
import { LayerStorage, type TokenRow } from "./layer-storage.js";
import { cacheByteLength, memoryReport, sharedByteLength } from "./memory-accounting.js";
import { forkStorage } from "./cache-fork.js";
import type { Page } from "./page.js";
import { PageDigests } from "./page-digests.js";
import { PageEncoder } from "./page-encoder.js";
import { pageToRecord } from "./page-records.js";
import { PageTiering } from "./page-tiering.js";
import { type ApplyReport, PolicyActions } from "./policy-actions.js";
import { PrefixSharing } from "./prefix-sharing.js";
import { RowDecoder } from "./row-decoder.js";
import { truncateLayer } from "./truncation.js";

export type { ApplyReport } from "./policy-actions.js";
export type { CompressedKVCacheOptions } from "./cache-options.js";
export type { TokenRow } from "./layer-storage.js";
export type { CacheSnapshot } from "./cache-snapshot.js";

/**
 * Paged compressed KV cache. Each layer × KV head holds pages of `pageSize` tokens encoded by the
 * layer's key and value codecs, plus a full-precision residual window of the newest tokens.
 * Attention runs on the codes (an {@link AttentionBackend}; TypeScript by default). Pages can be
 * dropped (masked), re-encoded at another rate, offloaded to a tier and recalled, driven by a
 * {@link Policy}, and shared between caches by token prefix.
 *
 * This class is the facade; each concern is a part in this folder: layer-storage (where rows
 * live), page-encoder (residual window → pages), page-digests, truncation, policy-actions,
 * page-tiering (offload / recall), prefix-sharing, cache-snapshot and memory-accounting.
 */
export class CompressedKVCache implements KVCache, PolicyCacheView {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly pageSize: number;
  readonly residualWindow: number;
  readonly maxTokens: number;
  readonly keyDigests: boolean;
  readonly keyDigestFormat: KeyDigestFormat;
  readonly namespace: string;
  readonly sessionId: string;
  readonly codecs: CodecRegistry;
  readonly layerWindows: readonly (number | undefined)[] | undefined;

  private readonly options: CompressedKVCacheOptions;
  private readonly layout: CacheLayout;
  private readonly storage: LayerStorage;
  private readonly decoder: RowDecoder;
  private readonly digests: PageDigests;
  private readonly encoder: PageEncoder;
  private readonly tiering: PageTiering;
  private readonly prefixes: PrefixSharing;
  private readonly actions: PolicyActions;
  private readonly attention: LayerAttention;
  private readonly softCapped: SoftCappedAttention;
  private policy: Policy;
  private readonly autoApplyPolicy: boolean;
  private readonly listener: CacheEventListener | undefined;
  private attendCalls = 0;

  constructor(options: CompressedKVCacheOptions) {
    const layout = cacheLayout(options);
    this.options = options;
    this.layout = layout;
    this.layers = layout.layers;
    this.kvHeads = layout.kvHeads;
    this.headDim = layout.headDim;
    this.pageSize = layout.pageSize;
    this.residualWindow = layout.residualWindow;
    this.maxTokens = layout.maxTokens;
    this.keyDigests = options.keyDigests ?? false;
    this.keyDigestFormat = options.keyDigestFormat ?? "fp16";
    this.namespace = options.namespace ?? "";
    this.sessionId = options.sessionId ?? randomSessionId();
    this.codecs = options.codecs ?? new CodecRegistry(options.codecFactory);
    this.layerWindows = checkLayerWindows(options.layerWindows, this.layers, "CompressedKVCache", (message) => new CacheConfigurationError(message));
    this.policy = options.policy ?? new NoEvictionPolicy();
    this.autoApplyPolicy = options.autoApplyPolicy ?? true;
    this.listener = options.onEvent;
    this.attention = new LayerAttention(layout, options.attention);

    this.decoder = new RowDecoder(this.headDim);
    this.softCapped = new SoftCappedAttention(layout, this.decoder);
    this.digests = new PageDigests(this.keyDigests, this.keyDigestFormat, this.headDim, this.decoder);
    this.encoder = new PageEncoder(layout, this.codecs, this.digests);
    const keyCodecs = perLayer("keys", options.keys, this.layers).map((choice, layer) => this.encoder.resolveCodec(choice, `keys codec of layer ${layer}`));
    const valueCodecs = perLayer("values", options.values, this.layers).map((choice, layer) =>
      this.encoder.resolveCodec(choice, `values codec of layer ${layer}`),
    );
    this.storage = new LayerStorage(layout, keyCodecs, valueCodecs);
    const emit = (event: CacheEvent): void => this.listener?.(event);
    this.tiering = new PageTiering(
      options.tiers ?? [],
      this.storage,
      this.headDim,
      this.digests,
      this.sessionId,
      (page) => this.prefixes.prefixKey(page.layer, page.kvHead, page.firstPosition / this.pageSize),
      emit,
    );
    this.prefixes = new PrefixSharing(layout, this.namespace, this.storage, this.encoder, this.digests, this.tiering, emit);
    this.actions = new PolicyActions(layout, this.storage, this.encoder, this.digests, this.tiering, (page) => this.releasePage(page));
  }

  /** A page leaves the cache: stale offloads are ignored, a private tier copy deleted, the attention backend told. */
  private releasePage(page: Page): void {
    page.version += 1;
    page.revision += 1;
    this.attention.backend?.pageReleased?.(page.id);
    this.tiering.deletePrivateCopy(page);
  }

  // ---------------------------------------------------------------- KVCache

  get step(): number {
    return this.attendCalls;
  }

  length(layer = this.layers - 1): number {
    return this.storage.layer(layer).length;
  }

  append(layer: number, keys: Float32Array, values: Float32Array): void {
    const state = this.storage.layer(layer);
    const stride = this.kvHeads * this.headDim;
    if (keys.length !== stride || values.length !== stride) {
      throw new CacheConfigurationError(`append: expected ${stride} floats for keys and values, got ${keys.length} and ${values.length}`);
    }
    if (state.length >= this.maxTokens) throw new CacheConfigurationError(`append: maxTokens ${this.maxTokens} reached`);
    checkFinite("keys", keys);
    checkFinite("values", values);
    if (this.storage.appendRow(state, keys, values)) this.encoder.flush(layer, state, (context) => this.policy.planFlush?.(context, this));
    const window = this.layerWindows?.[layer];
    if (window !== undefined && state.length > window) this.actions.drop(layer, [state.length - 1 - window]);
  }

  attend(layer: number, queries: Float32Array, out: Float32Array, options: AttentionOptions): void {
    const state = this.storage.layer(layer);
    const observing = typeof this.policy.observe === "function";
    // The attention backends compute plain softmax(scale·q·K); a soft cap (Gemma 2) takes the decoding reference path.
    const weights =
      options.logitSoftCap === undefined
        ? this.attention.attend(layer, state, queries, out, options, observing)
        : this.softCapped.attend(state, queries, out, options, observing);
    if (layer === 0) this.attendCalls += 1;
    if (observing && weights !== undefined) {
      const statistics: AttentionStatistics = {
        layer,
        step: this.attendCalls - 1,
        heads: options.heads,
        kvHeads: this.kvHeads,
        length: state.length,
        weights: weights.subarray(0, options.heads * state.length),
        queries,
      };
      this.policy.observe?.(statistics, this);
    }
    if (layer === this.layers - 1 && this.autoApplyPolicy) this.runPolicy();
  }

  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void {
    this.storage.readLayer(layer, keysOut, valuesOut, this.decoder);
  }

  truncate(length: number): void {
    const target = Math.max(0, Math.floor(length));
    for (const state of this.storage.layers) truncateLayer(this.layout, state, target, this.decoder, (page) => this.releasePage(page));
    this.prefixes.truncate(target);
    if (target === 0) this.policy.reset?.();
  }

  byteLength(): number {
    return cacheByteLength(this.layout, this.storage);
  }

  memoryReport(): MemoryReport {
    return memoryReport(this.layout, this.storage);
  }

  /**
   * The decoded key and value of one token of one KV head, or undefined when the token was
   * dropped or never appended. Throws {@link PageStateError} when its page is offloaded.
   */
  readToken(layer: number, kvHead: number, position: number, keyOut?: Float32Array, valueOut?: Float32Array): TokenRow | undefined {
    return this.storage.readToken(layer, kvHead, position, keyOut, valueOut);
  }

  // ------------------------------------------------------------ policy view

  pageDigests(layer: number, kvHead: number): readonly PageDigest[] {
    const state = this.storage.layer(layer);
    this.storage.checkKvHead(kvHead);
    return state.pages[kvHead].map((page) => this.digests.describe(page));
  }

  residualRange(layer: number): { readonly start: number; readonly end: number } {
    const state = this.storage.layer(layer);
    return { start: state.residualStart, end: state.residualStart + state.residualCount };
  }

  isLive(layer: number, kvHead: number, position: number): boolean {
    return this.storage.isLive(layer, kvHead, position);
  }

  liveCount(layer: number, kvHead: number): number {
    return this.storage.liveCount(layer, kvHead);
  }

  codecSpecs(layer: number): { readonly keys: CodecSpec; readonly values: CodecSpec } {
    const state = this.storage.layer(layer);
    return { keys: state.keyCodec.spec as CodecSpec, values: state.valueCodec.spec as CodecSpec };
  }

  /** The codec instances new pages of `layer` are encoded with. */
  layerCodecs(layer: number): { readonly keys: Codec; readonly values: Codec } {
    const state = this.storage.layer(layer);
    return { keys: state.keyCodec, values: state.valueCodec };
  }

  tierNames(): readonly string[] {
    return this.tiering.tierNames();
  }

  /** Adds a tier (the first added is the default for offloads and prefix sharing). */
  addTier(tier: PageTier): void {
    this.tiering.addTier(tier);
  }

  /** Plugs in (or, with undefined, removes) the backend that computes attention over the pages. */
  setAttentionBackend(backend: AttentionBackend | undefined): void {
    this.attention.backend = backend;
  }

  /** The plugged-in attention backend's name, or "typescript". */
  attentionBackendName(): string {
    return this.attention.backendName();
  }

  setPolicy(policy: Policy): void {
    this.policy = policy;
  }

  getPolicy(): Policy {
    return this.policy;
  }

  // ---------------------------------------------------------------- actions

  /** Runs `policy.decide` and applies its actions; resolves once offloads and recalls finished. */
  async applyPolicy(): Promise<ApplyReport> {
    return this.applyActions(this.policy.decide(this));
  }

  /** Synchronous part of a step: decide, apply, start async actions in the background. */
  private runPolicy(): void {
    const actions = this.policy.decide(this);
    if (actions.length === 0) return;
    void this.applyActions(actions).then((report) => {
      for (const failure of report.failed) this.listener?.({ type: "policy-action-failed", action: failure.action, error: failure.error });
    });
  }

  /**
   * Applies actions in order. Synchronous kinds (keep, reencode, drop, drop-page, merge) take
   * effect before this returns its promise; offload and recall finish when it resolves.
   */
  applyActions(actions: readonly PolicyAction[]): Promise<ApplyReport> {
    return this.actions.apply(actions);
  }

  /** Resolves when every offload and recall started so far has finished (events report failures). */
  settled(): Promise<void> {
    return this.tiering.settled();
  }

  /** Masks positions out of attention for one KV head (all heads when kvHead is undefined); pages left with no live row are freed. */
  drop(layer: number, positions: ArrayLike<number>, kvHead?: number): void {
    this.actions.drop(layer, positions, kvHead);
  }

  dropPage(layer: number, kvHead: number, pageId: number): void {
    this.actions.dropPage(layer, kvHead, pageId);
  }

  /** Re-encodes a resident page's live rows (only `positions` when given) with other codecs. */
  reencodePage(layer: number, kvHead: number, pageId: number, keys?: CodecSpec, values?: CodecSpec, positions?: ArrayLike<number>): void {
    this.actions.reencodePage(layer, kvHead, pageId, keys, values, positions);
  }

  /** (1 − weight)·row_into + weight·row_from replaces row `into`; `from` is dropped. */
  merge(layer: number, kvHead: number, from: number, into: number, weight = 0.5): void {
    this.actions.merge(layer, kvHead, from, into, weight);
  }

  /** The page's record bytes (what tiers store), for tools and tests. */
  encodePage(layer: number, kvHead: number, pageId: number): Uint8Array {
    const { page } = this.storage.requirePage(layer, kvHead, pageId);
    if (page.location === "offloaded") throw new PageStateError(`page ${pageId} is offloaded`);
    return encodePageRecord(pageToRecord(page, this.headDim, this.digests, true));
  }

  /** Writes the page to a tier, then frees its blocks (attention keeps using it until the write completes). */
  offloadPage(layer: number, kvHead: number, pageId: number, tierName?: string): Promise<void> {
    return this.tiering.offloadPage(layer, kvHead, pageId, tierName);
  }

  /** Reads an offloaded page back and verifies it; a corrupt or missing page rejects and is never attended. */
  recallPage(layer: number, kvHead: number, pageId: number): Promise<void> {
    return this.tiering.recallPage(layer, kvHead, pageId);
  }

  /** Recalls every offloaded page (e.g. before resuming a parked session); resolves when all are back. */
  recallAll(): Promise<number> {
    return this.tiering.recallAll();
  }

  /** Empties the cache and deletes its session-private offloaded pages from their tiers. */
  async dispose(): Promise<void> {
    await this.settled();
    this.truncate(0);
    await this.settled();
  }

  // ------------------------------------------------------------ prefix sharing

  /** Records the token ids of positions [startPosition, startPosition + n) (needed for prefix keys). */
  recordTokens(tokenIds: ArrayLike<number>, startPosition?: number): void {
    this.prefixes.recordTokens(tokenIds, startPosition);
  }

  /** Token ids recorded so far. */
  recordedTokens(): Int32Array {
    return this.prefixes.recordedTokens();
  }

  /**
   * Prefix store key of page `pageIndex` (positions [i·P, (i+1)·P)) for the recorded tokens, or for
   * `tokenIds` when given; undefined when the tokens of that page are not known.
   */
  prefixKey(layer: number, kvHead: number, pageIndex: number, tokenIds?: ArrayLike<number>): string | undefined {
    return this.prefixes.prefixKey(layer, kvHead, pageIndex, tokenIds);
  }

  /** Writes every pristine resident page whose tokens are recorded to a tier under its prefix key; returns pages written. */
  publishPrefix(tierName?: string): Promise<number> {
    return this.prefixes.publishPrefix(tierName);
  }

  /**
   * Fills an empty cache with the longest run of prefix pages found in a tier for `tokenIds`
   * (every layer × KV head of a page must be present and verified). Returns the number of
   * positions restored; the caller runs the model on tokenIds from there. By default at least
   * one token is left to compute, so the caller gets logits for the last prompt token.
   */
  async restorePrefix(tokenIds: ArrayLike<number>, options: { tier?: string; leaveLast?: boolean } = {}): Promise<number> {
    const restored = await this.prefixes.restorePrefix(tokenIds, options);
    this.policy.reset?.();
    return restored;
  }

  // ------------------------------------------------------------ forks

  /**
   * A second cache holding the same tokens, sharing this one's encoded pages copy-on-write: n
   * continuations of one prompt (one prefill) each decode on their own fork, and the codes are
   * held once until a fork changes a page. Pass a fresh `policy` (policies keep per-cache state;
   * default none); tiers, codecs and the attention backend are shared. Throws
   * {@link PageStateError} while a page is being offloaded or sits under a session-private key.
   */
  fork(options: { readonly policy?: Policy; readonly sessionId?: string; readonly onEvent?: CacheEventListener } = {}): CompressedKVCache {
    const child = new CompressedKVCache({
      ...this.options,
      codecs: this.codecs,
      tiers: this.tiering.allTiers(),
      policy: options.policy,
      sessionId: options.sessionId,
      onEvent: options.onEvent ?? this.listener,
      attention: this.attention.backend,
    });
    forkStorage(this.storage, child.storage, child.encoder);
    child.prefixes.recordTokens(this.prefixes.recordedTokens(), 0);
    child.attendCalls = this.attendCalls;
    return child;
  }

  /** Bytes held by several caches together, each encoded block counted once (forks share blocks). */
  static sharedByteLength(caches: Iterable<CompressedKVCache>): number {
    return sharedByteLength(Array.from(caches, (cache) => ({ layout: cache.layout, storage: cache.storage })));
  }

  // ------------------------------------------------------------ session state (save/restore)

  private snapshotParts(): SnapshotParts {
    return { layout: this.layout, storage: this.storage, encoder: this.encoder, digests: this.digests };
  }

  /** @internal Snapshot for session serialization. */
  exportState(): CacheSnapshot {
    return {
      pageSize: this.pageSize,
      residualWindow: this.residualWindow,
      keyDigests: this.keyDigests,
      namespace: this.namespace,
      sessionId: this.sessionId,
      step: this.attendCalls,
      tokenIds: this.prefixes.recordedTokens(),
      layers: exportLayers(this.snapshotParts()),
    };
  }

  /** @internal Loads a snapshot into a freshly constructed cache of the same shape. */
  importState(snapshot: CacheSnapshot): void {
    this.attendCalls = snapshot.step;
    this.prefixes.reset();
    this.prefixes.recordTokens(snapshot.tokenIds, 0);
    importLayers(this.snapshotParts(), snapshot.layers);
  }
}
