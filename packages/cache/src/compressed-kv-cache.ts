import type { Codec, CodecSpec, EncodedBlock } from "@kvpack/codecs";
import type { CacheEvent, CacheEventListener } from "./cache-event.js";
import { type CodecChoice, type CodecFactory, CodecRegistry } from "./codec-registry.js";
import { CacheConfigurationError, CorruptPageError, PageStateError } from "./errors.js";
import type { AttentionOptions, KVCache } from "./kv-cache.js";
import { NoEvictionPolicy } from "./no-eviction-policy.js";
import { type KeyDigestFormat, checkKeyDigestFormat, decodeKeyDigest, encodeKeyDigest, keyDigestByteLength } from "./key-digest.js";
import type { HeadMemory, LayerMemory, MemoryReport, PageMemory } from "./memory-report.js";
import {
  findPage,
  findPosition,
  liveLayout,
  markDropped,
  type Page,
  pageBlockBytes,
  pageLiveCount,
  pageTokenCount,
  positionAt,
  positionLayout,
  rowOf,
  type Segment,
  segmentMetadataBytes,
  segmentPositions,
  sharedAllLive,
  updateKeyBounds,
} from "./page.js";
import { decodePageRecord, encodePageRecord, type PageRecord, type PageRecordSegment } from "./page-record.js";
import type { PageTier } from "./page-store.js";
import type {
  AttentionStatistics,
  FlushSegmentPlan,
  PageDigest,
  Policy,
  PolicyAction,
  PolicyCacheView,
} from "./policy.js";
import { nextPrefixKey, prefixRoot, prefixStoreKey } from "./prefix-key.js";
import type { AttentionBackend, LayerAttentionRequest } from "./attention/attention-backend.js";
import { TypeScriptAttention } from "./attention/typescript-attention.js";

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

/** Outcome of applying policy actions. */
export interface ApplyReport {
  readonly applied: number;
  readonly failed: readonly { readonly action: PolicyAction; readonly error: unknown }[];
}

/** One layer × KV head row of a token, decoded. */
export interface TokenRow {
  readonly key: Float32Array;
  readonly value: Float32Array;
}

interface LayerState {
  length: number;
  keyCodec: Codec;
  valueCodec: Codec;
  /** Pages per KV head, ascending by firstPosition. */
  pages: Page[][];
  /** kvHeads × residualCapacity × headDim, row r is position residualStart + r. */
  residualKeys: Float32Array;
  residualValues: Float32Array;
  residualLive: Uint8Array;
  residualStart: number;
  residualCount: number;
}

/** Shared by every page of a cache built without key digests. */
const emptyDigest = new Uint8Array(0);
const emptyBounds = new Float32Array(0);

function randomSessionId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}

function checkPositiveInteger(name: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) throw new CacheConfigurationError(`${name} must be a positive integer, got ${value}`);
}

function checkFinite(name: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    // value - value is NaN for NaN and ±Infinity.
    if (value - value !== 0) throw new CacheConfigurationError(`${name}[${i}] is ${value}; keys and values must be finite`);
  }
}

/**
 * Paged compressed KV cache. Each layer × KV head holds pages of `pageSize` tokens encoded by the
 * layer's key and value codecs, plus a full-precision residual window of the newest tokens.
 * Attention runs on the codes: `codec.scores` per page (query prepared once per query head and
 * codec), the residual window dense, one softmax over everything, `codec.accumulate` per page and
 * `finishAccumulator` once per codec. Pages can be dropped (masked), re-encoded at another rate,
 * offloaded to a {@link PageStore} and recalled, driven by a {@link Policy}.
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
  private policy: Policy;
  private readonly autoApplyPolicy: boolean;
  private readonly tiers: PageTier[];
  private readonly listener: CacheEventListener | undefined;
  /** Rows the residual window holds before it flushes: max(R, pageSize). */
  private readonly flushAt: number;
  private readonly state: LayerState[];
  private nextPageId = 1;
  private attendCalls = 0;
  private readonly pending = new Set<Promise<unknown>>();

  // Token ids (for prefix keys) and the memoized key chain per layer × KV head.
  private tokenIds = new Int32Array(0);
  private tokenCount = 0;
  private readonly prefixChains: Uint8Array[][];
  private readonly root: Uint8Array;

  // Scratch buffers, grown on demand, reused across calls (no per-row allocation in attend).
  private readonly typescriptAttention: TypeScriptAttention;
  private attentionBackend: AttentionBackend | undefined;
  private weightsScratch = new Float32Array(0);
  /** Scratch box for recomputing a digest before it is rounded into the format. */
  private readonly digestMin: Float32Array;
  private readonly digestMax: Float32Array;
  private rowScratch = new Float32Array(0);
  private valueRowScratch = new Float32Array(0);

  constructor(options: CompressedKVCacheOptions) {
    checkPositiveInteger("layers", options.layers);
    checkPositiveInteger("kvHeads", options.kvHeads);
    checkPositiveInteger("headDim", options.headDim);
    this.layers = options.layers;
    this.kvHeads = options.kvHeads;
    this.headDim = options.headDim;
    this.pageSize = options.pageSize ?? 32;
    checkPositiveInteger("pageSize", this.pageSize);
    this.residualWindow = options.residualWindow ?? 32;
    if (!(Number.isInteger(this.residualWindow) && this.residualWindow >= 0 && this.residualWindow % this.pageSize === 0)) {
      throw new CacheConfigurationError(
        `residualWindow must be 0 or a multiple of pageSize ${this.pageSize}, got ${this.residualWindow}`,
      );
    }
    this.maxTokens = options.maxTokens ?? Number.MAX_SAFE_INTEGER;
    this.flushAt = Math.max(this.residualWindow, this.pageSize);
    this.keyDigests = options.keyDigests ?? false;
    this.keyDigestFormat = options.keyDigestFormat ?? "fp16";
    checkKeyDigestFormat(this.keyDigestFormat);
    this.digestMin = new Float32Array(this.keyDigests ? this.headDim : 0);
    this.digestMax = new Float32Array(this.keyDigests ? this.headDim : 0);
    this.namespace = options.namespace ?? "";
    this.sessionId = options.sessionId ?? randomSessionId();
    this.codecs = options.codecs ?? new CodecRegistry(options.codecFactory);
    this.policy = options.policy ?? new NoEvictionPolicy();
    this.autoApplyPolicy = options.autoApplyPolicy ?? true;
    this.tiers = [...(options.tiers ?? [])];
    this.listener = options.onEvent;
    this.typescriptAttention = new TypeScriptAttention(this.headDim);
    this.attentionBackend = options.attention;
    this.root = prefixRoot(this.namespace);
    this.prefixChains = Array.from({ length: this.layers * this.kvHeads }, () => []);
    const keyChoices = this.perLayer("keys", options.keys);
    const valueChoices = this.perLayer("values", options.values);
    const residualRows = this.kvHeads * this.flushAt;
    this.state = Array.from({ length: this.layers }, (_, layer) => ({
      length: 0,
      keyCodec: this.resolveCodec(keyChoices[layer], `keys codec of layer ${layer}`),
      valueCodec: this.resolveCodec(valueChoices[layer], `values codec of layer ${layer}`),
      pages: Array.from({ length: this.kvHeads }, () => []),
      residualKeys: new Float32Array(residualRows * this.headDim),
      residualValues: new Float32Array(residualRows * this.headDim),
      residualLive: new Uint8Array(residualRows),
      residualStart: 0,
      residualCount: 0,
    }));
  }

  private perLayer(name: string, choice: CodecChoice | readonly CodecChoice[]): CodecChoice[] {
    if (Array.isArray(choice)) {
      if (choice.length !== this.layers) {
        throw new CacheConfigurationError(`${name}: expected one codec per layer (${this.layers}), got ${choice.length}`);
      }
      return [...choice];
    }
    return Array.from({ length: this.layers }, () => choice as CodecChoice);
  }

  private resolveCodec(choice: CodecChoice, what: string): Codec {
    const codec = this.codecs.get(choice);
    if (codec.dimension !== this.headDim) {
      throw new CacheConfigurationError(`${what} has dimension ${codec.dimension}, expected headDim ${this.headDim}`);
    }
    return codec;
  }

  private emit(event: CacheEvent): void {
    this.listener?.(event);
  }

  private layerState(layer: number): LayerState {
    const state = this.state[layer];
    if (state === undefined) throw new CacheConfigurationError(`layer ${layer} out of range [0, ${this.layers})`);
    return state;
  }

  private checkKvHead(kvHead: number): void {
    if (!(Number.isInteger(kvHead) && kvHead >= 0 && kvHead < this.kvHeads)) {
      throw new CacheConfigurationError(`kvHead ${kvHead} out of range [0, ${this.kvHeads})`);
    }
  }

  // ---------------------------------------------------------------- KVCache

  get step(): number {
    return this.attendCalls;
  }

  length(layer = this.layers - 1): number {
    return this.layerState(layer).length;
  }

  append(layer: number, keys: Float32Array, values: Float32Array): void {
    const state = this.layerState(layer);
    const stride = this.kvHeads * this.headDim;
    if (keys.length !== stride || values.length !== stride) {
      throw new CacheConfigurationError(`append: expected ${stride} floats for keys and values, got ${keys.length} and ${values.length}`);
    }
    if (state.length >= this.maxTokens) throw new CacheConfigurationError(`append: maxTokens ${this.maxTokens} reached`);
    checkFinite("keys", keys);
    checkFinite("values", values);
    const { headDim } = this;
    const row = state.residualCount;
    for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
      const rowIndex = kvHead * this.flushAt + row;
      state.residualKeys.set(keys.subarray(kvHead * headDim, (kvHead + 1) * headDim), rowIndex * headDim);
      state.residualValues.set(values.subarray(kvHead * headDim, (kvHead + 1) * headDim), rowIndex * headDim);
      state.residualLive[rowIndex] = 1;
    }
    state.residualCount = row + 1;
    state.length += 1;
    if (state.residualCount >= this.flushAt) this.flush(layer);
  }

  attend(layer: number, queries: Float32Array, out: Float32Array, options: AttentionOptions): void {
    const state = this.layerState(layer);
    const { heads } = options;
    const { headDim, kvHeads } = this;
    if (!(Number.isInteger(heads) && heads > 0 && heads % kvHeads === 0)) {
      throw new CacheConfigurationError(`attend: heads (${heads}) must be a positive multiple of kvHeads (${kvHeads})`);
    }
    if (queries.length !== heads * headDim || out.length < heads * headDim) {
      throw new CacheConfigurationError(`attend: queries and out need ${heads * headDim} floats, got ${queries.length} and ${out.length}`);
    }
    const length = state.length;
    const observing = typeof this.policy.observe === "function";
    let weightsTarget = options.weightsOut;
    if (weightsTarget !== undefined && weightsTarget.length < heads * length) {
      throw new CacheConfigurationError(`attend: weightsOut needs heads × length = ${heads * length} floats, got ${weightsTarget.length}`);
    }
    if (weightsTarget === undefined && observing) {
      if (this.weightsScratch.length < heads * length) this.weightsScratch = new Float32Array(Math.max(heads * length, this.weightsScratch.length * 2));
      weightsTarget = this.weightsScratch;
    }
    if (weightsTarget !== undefined) weightsTarget.fill(0, 0, heads * length);
    if (layer === 0) this.attendCalls += 1;
    const request: LayerAttentionRequest = {
      layer,
      heads,
      kvHeads,
      headDim,
      scale: options.scale ?? 1 / Math.sqrt(headDim),
      length,
      queries,
      out,
      weightsOut: weightsTarget,
      pages: state.pages,
      residual: {
        keys: state.residualKeys,
        values: state.residualValues,
        live: state.residualLive,
        count: state.residualCount,
        stride: this.flushAt,
        start: state.residualStart,
      },
    };
    if (this.attentionBackend?.attendLayer(request) !== true) this.typescriptAttention.attendLayer(request);

    if (observing && weightsTarget !== undefined) {
      const statistics: AttentionStatistics = {
        layer,
        step: this.attendCalls - 1,
        heads,
        kvHeads,
        length,
        weights: weightsTarget.subarray(0, heads * length),
        queries,
      };
      this.policy.observe?.(statistics, this);
    }
    if (layer === this.layers - 1 && this.autoApplyPolicy) this.runPolicy();
  }

  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void {
    const state = this.layerState(layer);
    const { headDim } = this;
    const length = state.length;
    const need = this.kvHeads * length * headDim;
    if (keysOut.length < need || valuesOut.length < need) {
      throw new CacheConfigurationError(`readLayer: outputs need kvHeads × length × headDim = ${need} floats`);
    }
    // Dropped and offloaded rows read as zeros (see `isLive`).
    keysOut.fill(0, 0, need);
    valuesOut.fill(0, 0, need);
    for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
      const headBase = kvHead * length;
      for (const page of state.pages[kvHead]) {
        if (page.location === "offloaded") continue;
        for (const segment of page.segments) {
          const count = segment.count;
          const keys = this.decodeInto(segment.keyCodec, segment.keys as EncodedBlock, count, "key");
          const values = this.decodeInto(segment.valueCodec, segment.values as EncodedBlock, count, "value");
          for (let i = 0; i < count; i++) {
            if (!segment.live[i]) continue;
            const to = (headBase + positionAt(segment, i)) * headDim;
            keysOut.set(keys.subarray(i * headDim, (i + 1) * headDim), to);
            valuesOut.set(values.subarray(i * headDim, (i + 1) * headDim), to);
          }
        }
      }
      for (let r = 0; r < state.residualCount; r++) {
        const rowIndex = kvHead * this.flushAt + r;
        if (!state.residualLive[rowIndex]) continue;
        const to = (headBase + state.residualStart + r) * headDim;
        keysOut.set(state.residualKeys.subarray(rowIndex * headDim, (rowIndex + 1) * headDim), to);
        valuesOut.set(state.residualValues.subarray(rowIndex * headDim, (rowIndex + 1) * headDim), to);
      }
    }
  }

  truncate(length: number): void {
    const target = Math.max(0, Math.floor(length));
    for (let layer = 0; layer < this.layers; layer++) this.truncateLayer(layer, target);
    if (target < this.tokenCount) this.tokenCount = target;
    const keptPages = Math.floor(target / this.pageSize);
    for (const chain of this.prefixChains) if (chain.length > keptPages) chain.length = keptPages;
    if (target === 0) this.policy.reset?.();
  }

  byteLength(): number {
    let total = 0;
    for (const state of this.state) {
      for (const pages of state.pages) for (const page of pages) total += this.pageBytes(page).totalBytes;
      total += this.residualBytes(state, -1);
    }
    return total;
  }

  // ------------------------------------------------------------ random access

  /**
   * The decoded key and value of one token of one KV head, or undefined when the token was
   * dropped or never appended. Throws {@link PageStateError} when its page is offloaded.
   */
  readToken(layer: number, kvHead: number, position: number, keyOut?: Float32Array, valueOut?: Float32Array): TokenRow | undefined {
    const state = this.layerState(layer);
    this.checkKvHead(kvHead);
    const { headDim } = this;
    const key = keyOut ?? new Float32Array(headDim);
    const value = valueOut ?? new Float32Array(headDim);
    if (!(Number.isInteger(position) && position >= 0 && position < state.length)) return undefined;
    if (position >= state.residualStart) {
      const rowIndex = kvHead * this.flushAt + (position - state.residualStart);
      if (!state.residualLive[rowIndex]) return undefined;
      key.set(state.residualKeys.subarray(rowIndex * headDim, (rowIndex + 1) * headDim));
      value.set(state.residualValues.subarray(rowIndex * headDim, (rowIndex + 1) * headDim));
      return { key, value };
    }
    const found = this.locate(state, kvHead, position);
    if (found === undefined) return undefined;
    const { page, segment, row } = found;
    if (!segment.live[row]) return undefined;
    if (page.location === "offloaded") {
      throw new PageStateError(`position ${position} of layer ${layer} KV head ${kvHead} is in offloaded page ${page.id}; recall it first`);
    }
    segment.keyCodec.decodeRow(segment.keys as EncodedBlock, row, key);
    segment.valueCodec.decodeRow(segment.values as EncodedBlock, row, value);
    return { key, value };
  }

  private locate(state: LayerState, kvHead: number, position: number): { page: Page; segment: Segment; row: number } | undefined {
    const pages = state.pages[kvHead];
    const index = findPage(pages, position, this.pageSize);
    if (index < 0) return undefined;
    const page = pages[index];
    for (const segment of page.segments) {
      const row = rowOf(segment, position);
      if (row >= 0) return { page, segment, row };
    }
    return undefined;
  }

  private decodeInto(codec: Codec, block: EncodedBlock, count: number, which: "key" | "value"): Float32Array {
    const need = count * this.headDim;
    if (which === "key") {
      if (this.rowScratch.length < need) this.rowScratch = new Float32Array(need);
      return codec.decode(block, this.rowScratch.subarray(0, need));
    }
    if (this.valueRowScratch.length < need) this.valueRowScratch = new Float32Array(need);
    return codec.decode(block, this.valueRowScratch.subarray(0, need));
  }

  // ------------------------------------------------------------------ flush

  private flush(layer: number): void {
    const state = this.state[layer];
    const { headDim, pageSize } = this;
    const pagesToWrite = Math.floor(state.residualCount / pageSize);
    for (let p = 0; p < pagesToWrite; p++) {
      const firstPosition = state.residualStart + p * pageSize;
      for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
        const firstRow = kvHead * this.flushAt + p * pageSize;
        const positions: number[] = [];
        for (let r = 0; r < pageSize; r++) if (state.residualLive[firstRow + r]) positions.push(firstPosition + r);
        if (positions.length === 0) continue;
        const count = positions.length;
        let keys: Float32Array;
        let values: Float32Array;
        if (count === pageSize) {
          keys = state.residualKeys.subarray(firstRow * headDim, (firstRow + pageSize) * headDim);
          values = state.residualValues.subarray(firstRow * headDim, (firstRow + pageSize) * headDim);
        } else {
          keys = new Float32Array(count * headDim);
          values = new Float32Array(count * headDim);
          for (let i = 0; i < count; i++) {
            const rowIndex = firstRow + (positions[i] - firstPosition);
            keys.set(state.residualKeys.subarray(rowIndex * headDim, (rowIndex + 1) * headDim), i * headDim);
            values.set(state.residualValues.subarray(rowIndex * headDim, (rowIndex + 1) * headDim), i * headDim);
          }
        }
        const positionArray = Int32Array.from(positions);
        const plan = this.policy.planFlush?.({ layer, kvHead, positions: positionArray, keys, values }, this);
        const page = this.buildPage(layer, kvHead, firstPosition, positionArray, keys, values, state, plan);
        state.pages[kvHead].push(page);
      }
    }
    const flushed = pagesToWrite * pageSize;
    const remaining = state.residualCount - flushed;
    if (remaining > 0) {
      // Only reachable if flushAt were not a multiple of pageSize; kept for safety.
      for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
        const base = kvHead * this.flushAt;
        state.residualKeys.copyWithin(base * headDim, (base + flushed) * headDim, (base + flushed + remaining) * headDim);
        state.residualValues.copyWithin(base * headDim, (base + flushed) * headDim, (base + flushed + remaining) * headDim);
        state.residualLive.copyWithin(base, base + flushed, base + flushed + remaining);
      }
    }
    state.residualStart += flushed;
    state.residualCount = remaining;
    for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
      const base = kvHead * this.flushAt;
      state.residualLive.fill(0, base + remaining, base + this.flushAt);
    }
  }

  /** Encodes rows (ascending positions, count × headDim) into a page, split into segments by plan. */
  private buildPage(
    layer: number,
    kvHead: number,
    firstPosition: number,
    positions: Int32Array,
    keys: Float32Array,
    values: Float32Array,
    state: LayerState,
    plan: readonly FlushSegmentPlan[] | undefined,
  ): Page {
    const groups = this.groupRows(positions, state.keyCodec, state.valueCodec, plan);
    const segments: Segment[] = [];
    for (const group of groups) segments.push(this.encodeSegment(group.rows, positions, keys, values, group.keyCodec, group.valueCodec));
    const page: Page = {
      id: this.nextPageId++,
      layer,
      kvHead,
      firstPosition,
      segments,
      digest: this.newDigest(),
      location: "memory",
      storeKey: undefined,
      tier: undefined,
      pristine:
        segments.length === 1 &&
        positions.length === this.pageSize &&
        segments[0].keyCodec === state.keyCodec &&
        segments[0].valueCodec === state.valueCodec,
      version: 0,
      revision: 0,
    };
    this.recomputeDigest(page);
    return page;
  }

  private groupRows(
    positions: Int32Array,
    keyCodec: Codec,
    valueCodec: Codec,
    plan: readonly FlushSegmentPlan[] | undefined,
  ): { rows: number[]; keyCodec: Codec; valueCodec: Codec }[] {
    const assigned = new Int32Array(positions.length).fill(-1);
    const groups: { rows: number[]; keyCodec: Codec; valueCodec: Codec }[] = [];
    if (plan) {
      plan.forEach((entry, index) => {
        const groupKey = entry.keys ? this.resolveCodec(entry.keys, "planFlush keys codec") : keyCodec;
        const groupValue = entry.values ? this.resolveCodec(entry.values, "planFlush values codec") : valueCodec;
        for (let i = 0; i < entry.positions.length; i++) {
          const row = findPosition(positions, entry.positions[i]);
          if (row >= 0 && assigned[row] < 0) assigned[row] = index;
        }
        groups.push({ rows: [], keyCodec: groupKey, valueCodec: groupValue });
      });
    }
    const defaultGroup = { rows: [] as number[], keyCodec, valueCodec };
    for (let row = 0; row < positions.length; row++) {
      const index = assigned[row];
      (index >= 0 ? groups[index] : defaultGroup).rows.push(row);
    }
    // Rows whose planned codecs equal the defaults join the default group (one segment, not two).
    const result: { rows: number[]; keyCodec: Codec; valueCodec: Codec }[] = [];
    for (const group of [defaultGroup, ...groups]) {
      if (group.rows.length === 0) continue;
      const same = result.find((other) => other.keyCodec === group.keyCodec && other.valueCodec === group.valueCodec);
      if (same) same.rows.push(...group.rows);
      else result.push({ rows: [...group.rows], keyCodec: group.keyCodec, valueCodec: group.valueCodec });
    }
    for (const group of result) group.rows.sort((a, b) => a - b);
    return result;
  }

  /** Encodes the given rows (indices into positions/keys/values) with one codec pair. */
  private encodeSegment(
    rows: readonly number[],
    positions: Int32Array,
    keys: Float32Array,
    values: Float32Array,
    keyCodec: Codec,
    valueCodec: Codec,
  ): Segment {
    const { headDim } = this;
    const count = rows.length;
    let segmentKeys = keys;
    let segmentValues = values;
    const contiguous = count * headDim === keys.length && rows.every((row, index) => row === index);
    if (!contiguous) {
      segmentKeys = new Float32Array(count * headDim);
      segmentValues = new Float32Array(count * headDim);
      for (let i = 0; i < count; i++) {
        segmentKeys.set(keys.subarray(rows[i] * headDim, (rows[i] + 1) * headDim), i * headDim);
        segmentValues.set(values.subarray(rows[i] * headDim, (rows[i] + 1) * headDim), i * headDim);
      }
    }
    const keyBlock = keyCodec.encode(segmentKeys, count, headDim);
    const valueBlock = valueCodec.encode(segmentValues, count, headDim);
    const layout = positionLayout(Array.from(rows, (row) => positions[row]));
    return {
      count,
      start: layout.start,
      explicitPositions: layout.explicitPositions,
      live: sharedAllLive(count),
      liveShared: true,
      liveCount: count,
      keyCodec,
      valueCodec,
      keys: keyBlock,
      values: valueBlock,
      keyByteLength: keyBlock.data.length,
      valueByteLength: valueBlock.data.length,
    };
  }

  private newDigest(): Uint8Array {
    return this.keyDigests ? new Uint8Array(keyDigestByteLength(this.keyDigestFormat, this.headDim)) : emptyDigest;
  }

  /** Digest from the decoded keys of the page's live rows (resident pages only), rounded outward into the format. */
  private recomputeDigest(page: Page): void {
    if (!this.keyDigests) return;
    const { digestMin, digestMax } = this;
    digestMin.fill(Infinity);
    digestMax.fill(-Infinity);
    for (const segment of page.segments) {
      const keys = this.decodeInto(segment.keyCodec, segment.keys as EncodedBlock, segment.count, "key");
      updateKeyBounds(keys, segment.live, this.headDim, digestMin, digestMax);
    }
    encodeKeyDigest(this.keyDigestFormat, digestMin, digestMax, this.headDim, page.digest);
  }

  /** Stores a digest given as min/max (a page record's) into the page, in this cache's format. */
  private setDigest(page: Page, keyMin: Float32Array, keyMax: Float32Array): void {
    encodeKeyDigest(this.keyDigestFormat, keyMin, keyMax, this.headDim, page.digest);
  }

  /** The page's digest decoded (fresh arrays; empty without digests). */
  private digestBounds(page: Page): { keyMin: Float32Array; keyMax: Float32Array } {
    if (page.digest.length === 0) return { keyMin: emptyBounds, keyMax: emptyBounds };
    const keyMin = new Float32Array(this.headDim);
    const keyMax = new Float32Array(this.headDim);
    decodeKeyDigest(this.keyDigestFormat, page.digest, this.headDim, keyMin, keyMax);
    return { keyMin, keyMax };
  }

  // --------------------------------------------------------------- truncate

  private truncateLayer(layer: number, target: number): void {
    const state = this.state[layer];
    if (target >= state.length) return;
    const { headDim, pageSize } = this;
    if (target >= state.residualStart) {
      const keep = target - state.residualStart;
      for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
        const base = kvHead * this.flushAt;
        state.residualLive.fill(0, base + keep, base + this.flushAt);
      }
      state.residualCount = keep;
      state.length = target;
      return;
    }
    // The cut falls inside the pages: survivors of the cut page go back to the residual window.
    const newStart = Math.floor(target / pageSize) * pageSize;
    const keep = target - newStart;
    for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
      const base = kvHead * this.flushAt;
      state.residualLive.fill(0, base, base + this.flushAt);
      const pages = state.pages[kvHead];
      let firstRemoved = pages.length;
      while (firstRemoved > 0 && pages[firstRemoved - 1].firstPosition >= newStart) firstRemoved--;
      const cutPage = pages[firstRemoved];
      if (keep > 0 && cutPage !== undefined && cutPage.firstPosition === newStart && cutPage.location !== "offloaded") {
        for (const segment of cutPage.segments) {
          const count = segment.count;
          const keys = this.decodeInto(segment.keyCodec, segment.keys as EncodedBlock, count, "key");
          const values = this.decodeInto(segment.valueCodec, segment.values as EncodedBlock, count, "value");
          for (let i = 0; i < count; i++) {
            const offsetInPage = positionAt(segment, i) - newStart;
            if (offsetInPage >= keep || !segment.live[i]) continue;
            const rowIndex = base + offsetInPage;
            state.residualKeys.set(keys.subarray(i * headDim, (i + 1) * headDim), rowIndex * headDim);
            state.residualValues.set(values.subarray(i * headDim, (i + 1) * headDim), rowIndex * headDim);
            state.residualLive[rowIndex] = 1;
          }
        }
      }
      // Survivors of an offloaded cut page cannot be read synchronously: they count as dropped.
      for (let i = firstRemoved; i < pages.length; i++) this.forgetPage(pages[i]);
      pages.length = firstRemoved;
    }
    state.residualStart = newStart;
    state.residualCount = keep;
    state.length = target;
  }

  /** Releases a page's offloaded copy when it is private to this session (prefix pages are shared). */
  private forgetPage(page: Page): void {
    page.version += 1;
    page.revision += 1;
    this.attentionBackend?.pageReleased?.(page.id);
    // Only session-private copies are deleted: prefix keys may be shared with other caches.
    if (page.storeKey !== undefined && page.tier !== undefined && page.storeKey.startsWith("kvpack:session:")) {
      const tier = this.tiers.find((candidate) => candidate.name === page.tier);
      if (tier) this.track(tier.store.delete(page.storeKey).catch(() => false));
    }
  }

  // ----------------------------------------------------------- accounting

  private pageBytes(page: Page): { keyBytes: number; valueBytes: number; digestBytes: number; metadataBytes: number; totalBytes: number } {
    let keyBytes = 0;
    let valueBytes = 0;
    let metadataBytes = 0;
    const resident = page.location !== "offloaded";
    for (const segment of page.segments) {
      if (resident) {
        keyBytes += segment.keyByteLength;
        valueBytes += segment.valueByteLength;
      }
      metadataBytes += segmentMetadataBytes(segment);
    }
    const digestBytes = page.digest.byteLength;
    return { keyBytes, valueBytes, digestBytes, metadataBytes, totalBytes: keyBytes + valueBytes + digestBytes + metadataBytes };
  }

  /** fp32 keys and values of the residual rows held (kvHead −1: all heads). */
  private residualBytes(state: LayerState, kvHead: number): number {
    const heads = kvHead < 0 ? this.kvHeads : 1;
    return heads * state.residualCount * this.headDim * 4 * 2;
  }

  memoryReport(): MemoryReport {
    const layers: LayerMemory[] = [];
    let pagesTotal = 0;
    let offloadedPages = 0;
    let offloadedBytes = 0;
    let keyBytes = 0;
    let valueBytes = 0;
    let digestBytes = 0;
    let metadataBytes = 0;
    let residualBytes = 0;
    let liveTokens = 0;
    for (let layer = 0; layer < this.layers; layer++) {
      const state = this.state[layer];
      const heads: HeadMemory[] = [];
      let layerTotal = 0;
      for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
        const pages: PageMemory[] = [];
        let headTotal = 0;
        let headLive = 0;
        for (const page of state.pages[kvHead]) {
          const bytes = this.pageBytes(page);
          const live = pageLiveCount(page);
          pages.push({
            pageId: page.id,
            firstPosition: page.firstPosition,
            tokens: pageTokenCount(page),
            liveTokens: live,
            location: page.location,
            keyCodecIds: page.segments.map((segment) => segment.keyCodec.codecId),
            valueCodecIds: page.segments.map((segment) => segment.valueCodec.codecId),
            ...bytes,
          });
          pagesTotal += 1;
          if (page.location === "offloaded") {
            offloadedPages += 1;
            offloadedBytes += pageBlockBytes(page);
          }
          keyBytes += bytes.keyBytes;
          valueBytes += bytes.valueBytes;
          digestBytes += bytes.digestBytes;
          metadataBytes += bytes.metadataBytes;
          headTotal += bytes.totalBytes;
          headLive += live;
        }
        let residualTokens = 0;
        for (let r = 0; r < state.residualCount; r++) if (state.residualLive[kvHead * this.flushAt + r]) residualTokens += 1;
        const headResidualBytes = this.residualBytes(state, kvHead);
        residualBytes += headResidualBytes;
        headTotal += headResidualBytes;
        headLive += residualTokens;
        liveTokens += headLive;
        layerTotal += headTotal;
        heads.push({ kvHead, pages, residualTokens, residualBytes: headResidualBytes, liveTokens: headLive, totalBytes: headTotal });
      }
      layers.push({ layer, length: state.length, heads, totalBytes: layerTotal });
    }
    const totalBytes = keyBytes + valueBytes + digestBytes + metadataBytes + residualBytes;
    const fp16Bytes = liveTokens * this.headDim * 2 * 2;
    return {
      layers,
      totals: {
        pages: pagesTotal,
        offloadedPages,
        offloadedBytes,
        keyBytes,
        valueBytes,
        digestBytes,
        metadataBytes,
        residualBytes,
        liveTokens,
        totalBytes,
        fp16Bytes,
        compressionRatio: totalBytes > 0 ? fp16Bytes / totalBytes : 0,
        bitsPerElement: liveTokens > 0 ? (totalBytes * 8) / (liveTokens * this.headDim * 2) : 0,
      },
    };
  }

  // ------------------------------------------------------------ policy view

  pageDigests(layer: number, kvHead: number): readonly PageDigest[] {
    const state = this.layerState(layer);
    this.checkKvHead(kvHead);
    return state.pages[kvHead].map((page) => ({
      pageId: page.id,
      layer,
      kvHead,
      firstPosition: page.firstPosition,
      tokenCount: pageTokenCount(page),
      liveCount: pageLiveCount(page),
      location: page.location,
      keyCodecIds: page.segments.map((segment) => segment.keyCodec.codecId),
      valueCodecIds: page.segments.map((segment) => segment.valueCodec.codecId),
      blockBytes: pageBlockBytes(page),
      ...this.digestBounds(page),
      storeKey: page.storeKey,
      tier: page.tier,
    }));
  }

  residualRange(layer: number): { readonly start: number; readonly end: number } {
    const state = this.layerState(layer);
    return { start: state.residualStart, end: state.residualStart + state.residualCount };
  }

  isLive(layer: number, kvHead: number, position: number): boolean {
    const state = this.layerState(layer);
    this.checkKvHead(kvHead);
    if (!(Number.isInteger(position) && position >= 0 && position < state.length)) return false;
    if (position >= state.residualStart) return state.residualLive[kvHead * this.flushAt + position - state.residualStart] === 1;
    const found = this.locate(state, kvHead, position);
    return found !== undefined && found.segment.live[found.row] === 1;
  }

  liveCount(layer: number, kvHead: number): number {
    const state = this.layerState(layer);
    this.checkKvHead(kvHead);
    let total = 0;
    for (const page of state.pages[kvHead]) total += pageLiveCount(page);
    const base = kvHead * this.flushAt;
    for (let r = 0; r < state.residualCount; r++) total += state.residualLive[base + r];
    return total;
  }

  codecSpecs(layer: number): { readonly keys: CodecSpec; readonly values: CodecSpec } {
    const state = this.layerState(layer);
    return { keys: state.keyCodec.spec as CodecSpec, values: state.valueCodec.spec as CodecSpec };
  }

  /** The codec instances new pages of `layer` are encoded with. */
  layerCodecs(layer: number): { readonly keys: Codec; readonly values: Codec } {
    const state = this.layerState(layer);
    return { keys: state.keyCodec, values: state.valueCodec };
  }

  tierNames(): readonly string[] {
    return this.tiers.map((tier) => tier.name);
  }

  /** Adds a tier (the first added is the default for offloads and prefix sharing). */
  addTier(tier: PageTier): void {
    if (this.tiers.some((existing) => existing.name === tier.name)) throw new CacheConfigurationError(`tier "${tier.name}" exists already`);
    this.tiers.push(tier);
  }

  /** Plugs in (or, with undefined, removes) the backend that computes attention over the pages. */
  setAttentionBackend(backend: AttentionBackend | undefined): void {
    this.attentionBackend = backend;
  }

  /** The plugged-in attention backend's name, or "typescript". */
  attentionBackendName(): string {
    return this.attentionBackend?.name ?? this.typescriptAttention.name;
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

  /** Resolves when every offload and recall started so far has finished (events report failures). */
  async settled(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.pending.add(promise);
    const remove = (): void => {
      this.pending.delete(promise);
    };
    promise.then(remove, remove);
    return promise;
  }

  /** Synchronous part of a step: decide, apply, start async actions in the background. */
  private runPolicy(): void {
    const actions = this.policy.decide(this);
    if (actions.length === 0) return;
    void this.applyActions(actions).then((report) => {
      for (const failure of report.failed) this.emit({ type: "policy-action-failed", action: failure.action, error: failure.error });
    });
  }

  /**
   * Applies actions in order. Synchronous kinds (keep, reencode, drop, drop-page, merge) take
   * effect before this returns its promise; offload and recall finish when it resolves.
   */
  applyActions(actions: readonly PolicyAction[]): Promise<ApplyReport> {
    let applied = 0;
    const failed: { action: PolicyAction; error: unknown }[] = [];
    const waits: Promise<void>[] = [];
    for (const action of actions) {
      try {
        switch (action.kind) {
          case "keep":
            this.requirePage(action.layer, action.kvHead, action.pageId);
            applied += 1;
            break;
          case "reencode":
            this.reencodePage(action.layer, action.kvHead, action.pageId, action.keys, action.values, action.positions);
            applied += 1;
            break;
          case "drop":
            this.drop(action.layer, action.positions, action.kvHead);
            applied += 1;
            break;
          case "drop-page":
            this.dropPage(action.layer, action.kvHead, action.pageId);
            applied += 1;
            break;
          case "merge":
            this.merge(action.layer, action.kvHead, action.from, action.into, action.weight);
            applied += 1;
            break;
          case "offload":
          case "recall": {
            const run =
              action.kind === "offload"
                ? this.offloadPage(action.layer, action.kvHead, action.pageId, action.tier)
                : this.recallPage(action.layer, action.kvHead, action.pageId);
            waits.push(
              run.then(
                () => {
                  applied += 1;
                },
                (error: unknown) => {
                  failed.push({ action, error });
                },
              ),
            );
            break;
          }
          default:
            throw new CacheConfigurationError(`unknown policy action ${JSON.stringify(action)}`);
        }
      } catch (error) {
        failed.push({ action, error });
      }
    }
    return Promise.all(waits).then(() => ({ applied, failed }));
  }

  private requirePage(layer: number, kvHead: number, pageId: number): { page: Page; index: number; pages: Page[] } {
    const state = this.layerState(layer);
    this.checkKvHead(kvHead);
    const pages = state.pages[kvHead];
    const index = pages.findIndex((page) => page.id === pageId);
    if (index < 0) throw new PageStateError(`page ${pageId} does not exist in layer ${layer} KV head ${kvHead}`);
    return { page: pages[index], index, pages };
  }

  /**
   * Masks positions out of attention for one KV head (all heads when kvHead is undefined).
   * Pages left with no live row are freed. Positions not cached are ignored.
   */
  drop(layer: number, positions: ArrayLike<number>, kvHead?: number): void {
    const state = this.layerState(layer);
    if (kvHead !== undefined) this.checkKvHead(kvHead);
    const firstHead = kvHead ?? 0;
    const lastHead = kvHead ?? this.kvHeads - 1;
    for (let head = firstHead; head <= lastHead; head++) {
      const touched = new Set<Page>();
      for (let i = 0; i < positions.length; i++) {
        const position = positions[i];
        if (!(Number.isInteger(position) && position >= 0 && position < state.length)) continue;
        if (position >= state.residualStart) {
          state.residualLive[head * this.flushAt + position - state.residualStart] = 0;
          continue;
        }
        const found = this.locate(state, head, position);
        if (found === undefined || !markDropped(found.segment, found.row)) continue;
        found.page.pristine = false;
        found.page.revision += 1;
        touched.add(found.page);
      }
      if (touched.size > 0) {
        const pages = state.pages[head];
        const kept = pages.filter((page) => !touched.has(page) || pageLiveCount(page) > 0);
        for (const page of pages) if (!kept.includes(page)) this.forgetPage(page);
        state.pages[head] = kept;
      }
    }
  }

  dropPage(layer: number, kvHead: number, pageId: number): void {
    const { page, index, pages } = this.requirePage(layer, kvHead, pageId);
    pages.splice(index, 1);
    this.forgetPage(page);
  }

  /**
   * Re-encodes a resident page's live rows (only `positions` when given) with other codecs —
   * the "keep at rate r" decision. Rows outside `positions` stay in their segments; a segment that
   * lost rows is re-encoded from its decoded rows with its own codecs. Dropped rows are compacted.
   */
  reencodePage(
    layer: number,
    kvHead: number,
    pageId: number,
    keys?: CodecSpec,
    values?: CodecSpec,
    positions?: ArrayLike<number>,
  ): void {
    const { page } = this.requirePage(layer, kvHead, pageId);
    if (page.location !== "memory") throw new PageStateError(`page ${pageId} is ${page.location}; only resident pages can be re-encoded`);
    const state = this.state[layer];
    const newKeyCodec = keys ? this.resolveCodec(keys, "reencode keys codec") : undefined;
    const newValueCodec = values ? this.resolveCodec(values, "reencode values codec") : undefined;
    const selected = positions === undefined ? undefined : new Set(Array.from(positions));
    const { headDim } = this;
    const newSegments: Segment[] = [];
    // Moved rows grouped by target codec pair (a side without a new codec keeps its segment's).
    const moved: { keyCodec: Codec; valueCodec: Codec; positions: number[]; keys: number[]; values: number[] }[] = [];
    for (const segment of page.segments) {
      const count = segment.count;
      const positions = segmentPositions(segment);
      const isSelected = (i: number): boolean => selected === undefined || selected.has(positions[i]);
      let anySelected = false;
      for (let i = 0; i < count; i++) if (segment.live[i] && isSelected(i)) anySelected = true;
      if (!anySelected && segment.liveCount === count) {
        newSegments.push(segment);
        continue;
      }
      const decodedKeys = segment.keyCodec.decode(segment.keys as EncodedBlock);
      const decodedValues = segment.valueCodec.decode(segment.values as EncodedBlock);
      const keyCodec = newKeyCodec ?? segment.keyCodec;
      const valueCodec = newValueCodec ?? segment.valueCodec;
      let group = moved.find((entry) => entry.keyCodec === keyCodec && entry.valueCodec === valueCodec);
      const stayRows: number[] = [];
      for (let i = 0; i < count; i++) {
        if (!segment.live[i]) continue;
        if (!isSelected(i)) {
          stayRows.push(i);
          continue;
        }
        if (group === undefined) {
          group = { keyCodec, valueCodec, positions: [], keys: [], values: [] };
          moved.push(group);
        }
        group.positions.push(positions[i]);
        for (let c = 0; c < headDim; c++) {
          group.keys.push(decodedKeys[i * headDim + c]);
          group.values.push(decodedValues[i * headDim + c]);
        }
      }
      if (stayRows.length > 0) {
        newSegments.push(this.encodeSegment(stayRows, positions, decodedKeys, decodedValues, segment.keyCodec, segment.valueCodec));
      }
    }
    for (const group of moved) {
      const order = group.positions.map((_, index) => index).sort((a, b) => group.positions[a] - group.positions[b]);
      const sortedPositions = Int32Array.from(order, (index) => group.positions[index]);
      const keyRows = new Float32Array(order.length * headDim);
      const valueRows = new Float32Array(order.length * headDim);
      order.forEach((index, row) => {
        for (let c = 0; c < headDim; c++) {
          keyRows[row * headDim + c] = group.keys[index * headDim + c];
          valueRows[row * headDim + c] = group.values[index * headDim + c];
        }
      });
      const rows = Array.from(order, (_, row) => row);
      newSegments.push(this.encodeSegment(rows, sortedPositions, keyRows, valueRows, group.keyCodec, group.valueCodec));
    }
    page.segments = newSegments;
    page.pristine =
      newSegments.length === 1 &&
      newSegments[0].count === this.pageSize &&
      newSegments[0].keyCodec === state.keyCodec &&
      newSegments[0].valueCodec === state.valueCodec;
    page.version += 1;
    page.revision += 1;
    this.recomputeDigest(page);
    if (newSegments.length === 0) this.dropPage(layer, kvHead, pageId);
  }

  /** (1 − weight)·row_into + weight·row_from replaces row `into`; `from` is dropped. */
  merge(layer: number, kvHead: number, from: number, into: number, weight = 0.5): void {
    const state = this.layerState(layer);
    this.checkKvHead(kvHead);
    if (!(weight >= 0 && weight <= 1)) throw new CacheConfigurationError(`merge: weight must be in [0, 1], got ${weight}`);
    const fromRow = this.readToken(layer, kvHead, from);
    const intoRow = this.readToken(layer, kvHead, into);
    if (fromRow === undefined || intoRow === undefined) throw new PageStateError(`merge: position ${fromRow ? into : from} is not live`);
    const { headDim } = this;
    for (let c = 0; c < headDim; c++) {
      intoRow.key[c] = (1 - weight) * intoRow.key[c] + weight * fromRow.key[c];
      intoRow.value[c] = (1 - weight) * intoRow.value[c] + weight * fromRow.value[c];
    }
    if (into >= state.residualStart) {
      const rowIndex = kvHead * this.flushAt + into - state.residualStart;
      state.residualKeys.set(intoRow.key, rowIndex * headDim);
      state.residualValues.set(intoRow.value, rowIndex * headDim);
    } else {
      const found = this.locate(state, kvHead, into) as { page: Page; segment: Segment; row: number };
      const { page, segment, row } = found;
      if (page.location !== "memory") throw new PageStateError(`merge: page ${page.id} is ${page.location}`);
      const count = segment.count;
      const keys = segment.keyCodec.decode(segment.keys as EncodedBlock);
      const values = segment.valueCodec.decode(segment.values as EncodedBlock);
      keys.set(intoRow.key, row * headDim);
      values.set(intoRow.value, row * headDim);
      const rebuilt = this.encodeSegment(
        Array.from({ length: count }, (_, i) => i),
        segmentPositions(segment),
        keys,
        values,
        segment.keyCodec,
        segment.valueCodec,
      );
      rebuilt.live = segment.live;
      rebuilt.liveShared = segment.liveShared;
      rebuilt.liveCount = segment.liveCount;
      page.segments[page.segments.indexOf(segment)] = rebuilt;
      page.pristine = false;
      page.version += 1;
      page.revision += 1;
      this.recomputeDigest(page);
    }
    this.drop(layer, [from], kvHead);
  }

  private tier(name: string | undefined): PageTier {
    const tier = name === undefined ? this.tiers[0] : this.tiers.find((candidate) => candidate.name === name);
    if (tier === undefined) {
      throw new CacheConfigurationError(name === undefined ? "no tier configured: pass `tiers` or call addTier" : `unknown tier "${name}"`);
    }
    return tier;
  }

  private pageRecord(page: Page, withBlocks: boolean): PageRecord {
    const segments: PageRecordSegment[] = page.segments.map((segment) => ({
      keySpec: segment.keyCodec.spec as CodecSpec,
      valueSpec: segment.valueCodec.spec as CodecSpec,
      keyCodecId: segment.keyCodec.codecId,
      valueCodecId: segment.valueCodec.codecId,
      positions: segmentPositions(segment),
      live: segment.live,
      keyData: withBlocks ? segment.keys?.data : undefined,
      valueData: withBlocks ? segment.values?.data : undefined,
      keyByteLength: segment.keyByteLength,
      valueByteLength: segment.valueByteLength,
    }));
    return {
      layer: page.layer,
      kvHead: page.kvHead,
      firstPosition: page.firstPosition,
      headDim: this.headDim,
      segments,
      ...this.digestBounds(page),
    };
  }

  /** The page's record bytes (what tiers store), for tools and tests. */
  encodePage(layer: number, kvHead: number, pageId: number): Uint8Array {
    const { page } = this.requirePage(layer, kvHead, pageId);
    if (page.location === "offloaded") throw new PageStateError(`page ${pageId} is offloaded`);
    return encodePageRecord(this.pageRecord(page, true));
  }

  private storeKeyFor(page: Page): string {
    if (page.pristine) {
      const key = this.prefixKey(page.layer, page.kvHead, page.firstPosition / this.pageSize);
      if (key !== undefined) return key;
    }
    return `kvpack:session:${this.sessionId}:${page.layer}:${page.kvHead}:${page.id}`;
  }

  /**
   * Writes the page to a tier, then frees its blocks. Until the write completes the page stays
   * resident ("offloading") and attention keeps using it; a failed write leaves it resident.
   */
  offloadPage(layer: number, kvHead: number, pageId: number, tierName?: string): Promise<void> {
    let page: Page;
    let tier: PageTier;
    try {
      page = this.requirePage(layer, kvHead, pageId).page;
      tier = this.tier(tierName);
      if (page.location !== "memory") throw new PageStateError(`page ${pageId} is ${page.location}`);
    } catch (error) {
      return Promise.reject(error);
    }
    const key = this.storeKeyFor(page);
    const bytes = encodePageRecord(this.pageRecord(page, true));
    const version = page.version;
    page.location = "offloading";
    const work = tier.store.put(key, bytes).then(
      () => {
        if (page.version !== version || page.location !== "offloading") {
          // The page changed or was freed while writing: the stored copy is stale.
          if (page.location === "offloading") page.location = "memory";
          if (key.startsWith("kvpack:session:")) this.track(tier.store.delete(key).catch(() => false));
          return;
        }
        for (const segment of page.segments) {
          segment.keys = undefined;
          segment.values = undefined;
        }
        page.location = "offloaded";
        page.revision += 1;
        page.storeKey = key;
        page.tier = tier.name;
        this.emit({ type: "page-offloaded", layer, kvHead, pageId, tier: tier.name, key });
      },
      (error: unknown) => {
        if (page.location === "offloading") page.location = "memory";
        throw error;
      },
    );
    return this.track(work);
  }

  /**
   * Reads an offloaded page back and verifies it (CRC-32, layout, codec ids, positions). A corrupt
   * or missing page is reported (`corrupt-page` / `page-missing` event) and the promise rejects;
   * the page stays offloaded and is never attended: drop it and recompute its tokens.
   */
  recallPage(layer: number, kvHead: number, pageId: number): Promise<void> {
    let page: Page;
    try {
      page = this.requirePage(layer, kvHead, pageId).page;
      if (page.location !== "offloaded") throw new PageStateError(`page ${pageId} is ${page.location}, not offloaded`);
    } catch (error) {
      return Promise.reject(error);
    }
    const key = page.storeKey as string;
    const tier = this.tier(page.tier);
    const reportCorrupt = (error: unknown): void => {
      if (CorruptPageError.isInstance(error)) this.emit({ type: "corrupt-page", layer, kvHead, pageId, tier: tier.name, key, error });
    };
    // A tier may detect corruption itself (DiskPageStore's file CRC) and reject: same event.
    const fetched = tier.store.get(key).catch((error: unknown) => {
      reportCorrupt(error);
      throw error;
    });
    const work = fetched.then((bytes) => {
      if (bytes === undefined) {
        this.emit({ type: "page-missing", layer, kvHead, pageId, tier: tier.name, key });
        throw new PageStateError(`page ${pageId} is missing from tier "${tier.name}" (key ${key})`);
      }
      let record: PageRecord;
      try {
        record = decodePageRecord(bytes, key);
        this.checkRecordMatches(record, page, key);
      } catch (error) {
        reportCorrupt(error);
        throw error;
      }
      if (page.location !== "offloaded") return;
      record.segments.forEach((stored, index) => {
        const segment = page.segments[index];
        segment.keys = { codecId: stored.keyCodecId, count: segment.count, dimension: this.headDim, data: stored.keyData as Uint8Array };
        segment.values = {
          codecId: stored.valueCodecId,
          count: segment.count,
          dimension: this.headDim,
          data: stored.valueData as Uint8Array,
        };
      });
      page.location = "memory";
      page.revision += 1;
      this.emit({ type: "page-recalled", layer, kvHead, pageId, tier: tier.name, key });
    });
    return this.track(work);
  }

  private checkRecordMatches(record: PageRecord, page: Page, key: string): void {
    const problem = (reason: string): CorruptPageError => new CorruptPageError(`record does not match page ${page.id}: ${reason}`, key);
    if (record.layer !== page.layer || record.kvHead !== page.kvHead || record.firstPosition !== page.firstPosition) {
      throw problem("layer, KV head or first position differ");
    }
    if (record.headDim !== this.headDim || record.segments.length !== page.segments.length) throw problem("shape differs");
    record.segments.forEach((stored, index) => {
      const segment = page.segments[index];
      if (stored.keyData === undefined || stored.valueData === undefined) throw problem("blocks absent");
      if (stored.keyCodecId !== segment.keyCodec.codecId || stored.valueCodecId !== segment.valueCodec.codecId) throw problem("codec ids differ");
      if (stored.keyData.length !== segment.keyByteLength || stored.valueData.length !== segment.valueByteLength) throw problem("block sizes differ");
      if (stored.positions.length !== segment.count || stored.positions.some((value, i) => value !== positionAt(segment, i))) {
        throw problem("positions differ");
      }
    });
  }

  /** Empties the cache and deletes its session-private offloaded pages from their tiers. */
  async dispose(): Promise<void> {
    await this.settled();
    this.truncate(0);
    await this.settled();
  }

  /** Recalls every offloaded page (e.g. before resuming a parked session); resolves when all are back. */
  async recallAll(): Promise<number> {
    const recalls: Promise<void>[] = [];
    for (let layer = 0; layer < this.layers; layer++) {
      for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
        for (const page of this.state[layer].pages[kvHead]) {
          if (page.location === "offloaded") recalls.push(this.recallPage(layer, kvHead, page.id));
        }
      }
    }
    await Promise.all(recalls);
    return recalls.length;
  }

  // ------------------------------------------------------------ prefix sharing

  /** Records the token ids of positions [startPosition, startPosition + n) (needed for prefix keys). */
  recordTokens(tokenIds: ArrayLike<number>, startPosition = this.tokenCount): void {
    if (!(Number.isInteger(startPosition) && startPosition >= 0 && startPosition <= this.tokenCount)) {
      throw new CacheConfigurationError(`recordTokens: startPosition ${startPosition} must be in [0, ${this.tokenCount}]`);
    }
    const end = startPosition + tokenIds.length;
    if (end > this.tokenIds.length) {
      const grown = new Int32Array(Math.max(end, this.tokenIds.length * 2, 256));
      grown.set(this.tokenIds.subarray(0, this.tokenCount));
      this.tokenIds = grown;
    }
    for (let i = 0; i < tokenIds.length; i++) {
      const id = tokenIds[i];
      if (!Number.isInteger(id)) throw new CacheConfigurationError(`recordTokens: token id ${id} is not an integer`);
      this.tokenIds[startPosition + i] = id;
    }
    if (startPosition < this.tokenCount) {
      const keptPages = Math.floor(startPosition / this.pageSize);
      for (const chain of this.prefixChains) if (chain.length > keptPages) chain.length = keptPages;
    }
    this.tokenCount = end;
  }

  /** Token ids recorded so far. */
  recordedTokens(): Int32Array {
    return this.tokenIds.slice(0, this.tokenCount);
  }

  /**
   * Prefix store key of page `pageIndex` (positions [i·P, (i+1)·P)) for the recorded tokens, or for
   * `tokenIds` when given; undefined when the tokens of that page are not known.
   */
  prefixKey(layer: number, kvHead: number, pageIndex: number, tokenIds?: ArrayLike<number>): string | undefined {
    const state = this.layerState(layer);
    this.checkKvHead(kvHead);
    const tokens = tokenIds ?? this.tokenIds.subarray(0, this.tokenCount);
    if (!(Number.isInteger(pageIndex) && pageIndex >= 0) || (pageIndex + 1) * this.pageSize > tokens.length) return undefined;
    // The chain over the recorded tokens is memoized; keys for other tokens are computed afresh.
    const chain = tokenIds === undefined ? this.prefixChains[layer * this.kvHeads + kvHead] : [];
    let previous = chain.length > 0 ? chain[chain.length - 1] : this.root;
    for (let index = chain.length; index <= pageIndex; index++) {
      const start = index * this.pageSize;
      const slice = Array.prototype.slice.call(tokens, start, start + this.pageSize) as number[];
      previous = nextPrefixKey(previous, slice, state.keyCodec.codecId, state.valueCodec.codecId, layer, kvHead);
      chain.push(previous);
    }
    return prefixStoreKey(chain[pageIndex]);
  }

  /**
   * Writes every pristine resident page whose tokens are recorded to a tier under its prefix key
   * (skipping keys already there). Returns the number of pages written.
   */
  async publishPrefix(tierName?: string): Promise<number> {
    const tier = this.tier(tierName);
    const writes: Promise<boolean>[] = [];
    for (let layer = 0; layer < this.layers; layer++) {
      for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
        for (const page of this.state[layer].pages[kvHead]) {
          if (!page.pristine || page.location === "offloaded") continue;
          const key = this.prefixKey(layer, kvHead, page.firstPosition / this.pageSize);
          if (key === undefined) continue;
          const bytes = encodePageRecord(this.pageRecord(page, true));
          writes.push(
            tier.store.has(key).then(async (present) => {
              if (present) return false;
              await tier.store.put(key, bytes);
              return true;
            }),
          );
        }
      }
    }
    const results = await Promise.all(writes);
    return results.filter(Boolean).length;
  }

  /**
   * Fills an empty cache with the longest run of prefix pages found in a tier for `tokenIds`
   * (every layer × KV head of a page must be present and verified). Returns the number of
   * positions restored; the caller runs the model on tokenIds from there. By default at least
   * one token is left to compute, so the caller gets logits for the last prompt token.
   */
  async restorePrefix(tokenIds: ArrayLike<number>, options: { tier?: string; leaveLast?: boolean } = {}): Promise<number> {
    for (const state of this.state) {
      if (state.length !== 0) throw new CacheConfigurationError("restorePrefix needs an empty cache (truncate(0) first)");
    }
    const tier = this.tier(options.tier);
    const usable = (options.leaveLast ?? true) ? tokenIds.length - 1 : tokenIds.length;
    const maxPages = Math.max(0, Math.floor(usable / this.pageSize));
    this.tokenCount = 0;
    this.recordTokens(Array.prototype.slice.call(tokenIds, 0, maxPages * this.pageSize) as number[], 0);
    let restoredPages: number;
    try {
      await this.restorePrefixPages(tier, maxPages);
    } finally {
      // Whatever was installed before an error stays, consistent across layers.
      restoredPages = this.length(0) / this.pageSize;
      this.tokenCount = restoredPages * this.pageSize;
      for (const chain of this.prefixChains) if (chain.length > restoredPages) chain.length = restoredPages;
    }
    this.policy.reset?.();
    return restoredPages * this.pageSize;
  }

  private async restorePrefixPages(tier: PageTier, maxPages: number): Promise<number> {
    let restoredPages = 0;
    for (let pageIndex = 0; pageIndex < maxPages; pageIndex++) {
      const lookups: Promise<{ layer: number; kvHead: number; key: string; bytes: Uint8Array | undefined | CorruptPageError }>[] = [];
      for (let layer = 0; layer < this.layers; layer++) {
        for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
          const key = this.prefixKey(layer, kvHead, pageIndex) as string;
          const bytes = tier.store.get(key).catch((error: unknown) => {
            if (CorruptPageError.isInstance(error)) return error;
            throw error;
          });
          lookups.push(bytes.then((result) => ({ layer, kvHead, key, bytes: result })));
        }
      }
      const found = await Promise.all(lookups);
      const pages: Page[] = [];
      let complete = true;
      for (const { layer, kvHead, key, bytes } of found) {
        if (bytes === undefined) {
          complete = false;
          break;
        }
        try {
          if (CorruptPageError.isInstance(bytes)) throw bytes;
          pages.push(this.pageFromRecord(decodePageRecord(bytes, key), key, layer, kvHead, pageIndex));
        } catch (error) {
          if (!CorruptPageError.isInstance(error)) throw error;
          this.emit({ type: "corrupt-page", layer, kvHead, pageId: undefined, tier: tier.name, key, error });
          complete = false;
          break;
        }
      }
      if (!complete) break;
      // Install page by page, so a tier error on a later page leaves a consistent cache.
      for (const page of pages) this.state[page.layer].pages[page.kvHead].push(page);
      restoredPages += 1;
      for (const state of this.state) {
        state.length = restoredPages * this.pageSize;
        state.residualStart = state.length;
      }
    }
    return restoredPages;
  }

  /** Builds a resident pristine page from a verified prefix record. */
  private pageFromRecord(record: PageRecord, key: string, layer: number, kvHead: number, pageIndex: number): Page {
    const state = this.state[layer];
    const expectFirst = pageIndex * this.pageSize;
    const segment = record.segments[0];
    if (
      record.layer !== layer ||
      record.kvHead !== kvHead ||
      record.firstPosition !== expectFirst ||
      record.headDim !== this.headDim ||
      record.segments.length !== 1 ||
      segment.keyData === undefined ||
      segment.valueData === undefined ||
      segment.keyCodecId !== state.keyCodec.codecId ||
      segment.valueCodecId !== state.valueCodec.codecId ||
      segment.positions.length !== this.pageSize ||
      segment.positions.some((position, i) => position !== expectFirst + i) ||
      segment.live.some((flag) => flag !== 1)
    ) {
      throw new CorruptPageError("prefix record does not match the expected page", key);
    }
    const page: Page = {
      id: this.nextPageId++,
      layer,
      kvHead,
      firstPosition: expectFirst,
      segments: [
        {
          count: this.pageSize,
          start: expectFirst,
          explicitPositions: undefined,
          live: sharedAllLive(this.pageSize),
          liveShared: true,
          liveCount: this.pageSize,
          keyCodec: state.keyCodec,
          valueCodec: state.valueCodec,
          keys: { codecId: segment.keyCodecId, count: this.pageSize, dimension: this.headDim, data: segment.keyData },
          values: { codecId: segment.valueCodecId, count: this.pageSize, dimension: this.headDim, data: segment.valueData },
          keyByteLength: segment.keyData.length,
          valueByteLength: segment.valueData.length,
        },
      ],
      digest: this.newDigest(),
      location: "memory",
      storeKey: key,
      tier: undefined,
      pristine: true,
      version: 0,
      revision: 0,
    };
    // The writer may have kept no digest (or this cache wants one): take it or compute it.
    if (this.keyDigests && record.keyMin.length === this.headDim) {
      this.setDigest(page, record.keyMin, record.keyMax);
    } else {
      this.recomputeDigest(page);
    }
    return page;
  }

  // ------------------------------------------------------------ session state (save/restore)

  /** @internal Snapshot for session serialization. */
  exportState(): CacheSnapshot {
    return {
      pageSize: this.pageSize,
      residualWindow: this.residualWindow,
      keyDigests: this.keyDigests,
      namespace: this.namespace,
      sessionId: this.sessionId,
      step: this.attendCalls,
      tokenIds: this.tokenIds.slice(0, this.tokenCount),
      layers: this.state.map((state) => ({
        length: state.length,
        keySpec: state.keyCodec.spec as CodecSpec,
        valueSpec: state.valueCodec.spec as CodecSpec,
        residualStart: state.residualStart,
        residualCount: state.residualCount,
        residualKeys: this.residualRows(state, state.residualKeys, this.headDim),
        residualValues: this.residualRows(state, state.residualValues, this.headDim),
        residualLive: this.residualRows(state, state.residualLive, 1),
        pages: state.pages.map((pages) =>
          pages.map((page) => ({
            record: encodePageRecord(this.pageRecord(page, page.location !== "offloaded")),
            location: page.location === "offloaded" ? "offloaded" : "memory",
            storeKey: page.storeKey,
            tier: page.tier,
            pristine: page.pristine,
          })),
        ),
      })),
    };
  }

  private residualRows<T extends Float32Array | Uint8Array>(state: LayerState, buffer: T, width: number): T {
    const out = new (buffer.constructor as new (length: number) => T)(this.kvHeads * state.residualCount * width);
    for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
      const from = kvHead * this.flushAt * width;
      out.set(buffer.subarray(from, from + state.residualCount * width) as never, kvHead * state.residualCount * width);
    }
    return out;
  }

  /** @internal Loads a snapshot into a freshly constructed cache of the same shape. */
  importState(snapshot: CacheSnapshot): void {
    this.attendCalls = snapshot.step;
    this.tokenCount = 0;
    this.recordTokens(snapshot.tokenIds, 0);
    if (snapshot.layers.length !== this.layers) throw new CacheConfigurationError(`snapshot has ${snapshot.layers.length} layers, cache ${this.layers}`);
    snapshot.layers.forEach((layerSnapshot, layer) => {
      const state = this.state[layer];
      const { length, residualStart, residualCount } = layerSnapshot;
      if (
        !(residualCount >= 0 && residualCount < this.flushAt) ||
        residualStart % this.pageSize !== 0 ||
        residualStart + residualCount !== length ||
        layerSnapshot.residualLive.length !== this.kvHeads * residualCount
      ) {
        throw new CacheConfigurationError(`snapshot layer ${layer}: inconsistent residual window (${residualStart}+${residualCount} of ${length})`);
      }
      state.length = layerSnapshot.length;
      state.residualStart = layerSnapshot.residualStart;
      state.residualCount = layerSnapshot.residualCount;
      for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
        const count = layerSnapshot.residualCount;
        const base = kvHead * this.flushAt;
        state.residualKeys.set(layerSnapshot.residualKeys.subarray(kvHead * count * this.headDim, (kvHead + 1) * count * this.headDim), base * this.headDim);
        state.residualValues.set(layerSnapshot.residualValues.subarray(kvHead * count * this.headDim, (kvHead + 1) * count * this.headDim), base * this.headDim);
        state.residualLive.set(layerSnapshot.residualLive.subarray(kvHead * count, (kvHead + 1) * count), base);
        state.pages[kvHead] = layerSnapshot.pages[kvHead].map((entry) => {
          const record = decodePageRecord(entry.record, entry.storeKey);
          if (record.layer !== layer || record.kvHead !== kvHead) throw new CorruptPageError("page record in the wrong layer or KV head", entry.storeKey);
          const offloaded = entry.location === "offloaded";
          const page: Page = {
            id: this.nextPageId++,
            layer,
            kvHead,
            firstPosition: record.firstPosition,
            segments: record.segments.map((stored) => {
              const keyCodec = this.resolveCodec(stored.keySpec, "saved key codec");
              const valueCodec = this.resolveCodec(stored.valueSpec, "saved value codec");
              if (keyCodec.codecId !== stored.keyCodecId || valueCodec.codecId !== stored.valueCodecId) {
                throw new CorruptPageError(`codec id mismatch: saved ${stored.keyCodecId}/${stored.valueCodecId}, rebuilt ${keyCodec.codecId}/${valueCodec.codecId}`);
              }
              const count = stored.positions.length;
              return {
                count,
                ...positionLayout(stored.positions),
                ...liveLayout(stored.live),
                keyCodec,
                valueCodec,
                keys: offloaded ? undefined : { codecId: stored.keyCodecId, count, dimension: this.headDim, data: stored.keyData as Uint8Array },
                values: offloaded ? undefined : { codecId: stored.valueCodecId, count, dimension: this.headDim, data: stored.valueData as Uint8Array },
                keyByteLength: stored.keyByteLength,
                valueByteLength: stored.valueByteLength,
              };
            }),
            digest: this.newDigest(),
            location: offloaded ? "offloaded" : "memory",
            storeKey: entry.storeKey,
            tier: entry.tier,
            pristine: entry.pristine,
            version: 0,
            revision: 0,
          };
          // Saved digests are re-stored in this cache's format (rounding outward again keeps the bound).
          if (this.keyDigests && record.keyMin.length === this.headDim) this.setDigest(page, record.keyMin, record.keyMax);
          else if (this.keyDigests && !offloaded) this.recomputeDigest(page);
          return page;
        });
      }
    });
  }
}

/** @internal Plain snapshot of a cache (see session-format.ts). */
export interface CacheSnapshot {
  readonly pageSize: number;
  readonly residualWindow: number;
  readonly keyDigests: boolean;
  readonly namespace: string;
  readonly sessionId: string;
  readonly step: number;
  readonly tokenIds: Int32Array;
  readonly layers: readonly {
    readonly length: number;
    readonly keySpec: CodecSpec;
    readonly valueSpec: CodecSpec;
    readonly residualStart: number;
    readonly residualCount: number;
    /** kvHeads × residualCount × headDim */
    readonly residualKeys: Float32Array;
    readonly residualValues: Float32Array;
    /** kvHeads × residualCount */
    readonly residualLive: Uint8Array;
    readonly pages: readonly (readonly {
      readonly record: Uint8Array;
      readonly location: "memory" | "offloaded";
      readonly storeKey: string | undefined;
      readonly tier: string | undefined;
      readonly pristine: boolean;
    }[])[];
  }[];
}
