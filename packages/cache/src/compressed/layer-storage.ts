import type { Codec, EncodedBlock } from "@kvpack/codecs";
import { CacheConfigurationError, PageStateError } from "../errors.js";
import type { CacheLayout } from "./cache-layout.js";
import { findPage, type Page, pageLiveCount, positionAt, rowOf, type Segment } from "./page.js";
import type { RowDecoder } from "./row-decoder.js";

/** One layer: pages per KV head plus the full-precision residual window of the newest tokens. */
export interface LayerState {
  length: number;
  /** The codecs new pages are encoded with. */
  readonly keyCodec: Codec;
  readonly valueCodec: Codec;
  /** Pages per KV head, ascending by firstPosition. */
  pages: Page[][];
  /** kvHeads × flushAt × headDim; row r of KV head h is position residualStart + r, at h · flushAt + r. */
  readonly residualKeys: Float32Array;
  readonly residualValues: Float32Array;
  readonly residualLive: Uint8Array;
  /** 1 for a row whose values were edited after they were computed (merge target): its page is not pristine. */
  readonly residualTainted: Uint8Array;
  residualStart: number;
  residualCount: number;
}

/** A token's decoded key and value (one layer × KV head). */
export interface TokenRow {
  readonly key: Float32Array;
  readonly value: Float32Array;
}

export interface LocatedRow {
  readonly page: Page;
  readonly segment: Segment;
  readonly row: number;
}

/**
 * Where every token lives: per layer, the pages of each KV head and the residual window. Knows
 * how to find, read and append rows; encoding pages, policies and tiers are other parts' work.
 */
export class LayerStorage {
  readonly layers: LayerState[];

  constructor(
    private readonly layout: CacheLayout,
    keyCodecs: readonly Codec[],
    valueCodecs: readonly Codec[],
  ) {
    const rows = layout.kvHeads * layout.flushAt;
    this.layers = Array.from({ length: layout.layers }, (_, layer) => ({
      length: 0,
      keyCodec: keyCodecs[layer],
      valueCodec: valueCodecs[layer],
      pages: Array.from({ length: layout.kvHeads }, () => []),
      residualKeys: new Float32Array(rows * layout.headDim),
      residualValues: new Float32Array(rows * layout.headDim),
      residualLive: new Uint8Array(rows),
      residualTainted: new Uint8Array(rows),
      residualStart: 0,
      residualCount: 0,
    }));
  }

  layer(layer: number): LayerState {
    const state = this.layers[layer];
    if (state === undefined) throw new CacheConfigurationError(`layer ${layer} out of range [0, ${this.layout.layers})`);
    return state;
  }

  checkKvHead(kvHead: number): void {
    if (!(Number.isInteger(kvHead) && kvHead >= 0 && kvHead < this.layout.kvHeads)) {
      throw new CacheConfigurationError(`kvHead ${kvHead} out of range [0, ${this.layout.kvHeads})`);
    }
  }

  /** Index of residual row `row` of `kvHead` in the residual buffers. */
  residualIndex(kvHead: number, row: number): number {
    return kvHead * this.layout.flushAt + row;
  }

  /** Copies one token (kvHeads × headDim keys and values) into the residual window; true when it is full. */
  appendRow(state: LayerState, keys: Float32Array, values: Float32Array): boolean {
    const { headDim, kvHeads } = this.layout;
    const row = state.residualCount;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const rowIndex = this.residualIndex(kvHead, row);
      state.residualKeys.set(keys.subarray(kvHead * headDim, (kvHead + 1) * headDim), rowIndex * headDim);
      state.residualValues.set(values.subarray(kvHead * headDim, (kvHead + 1) * headDim), rowIndex * headDim);
      state.residualLive[rowIndex] = 1;
      state.residualTainted[rowIndex] = 0;
    }
    state.residualCount = row + 1;
    state.length += 1;
    return state.residualCount >= this.layout.flushAt;
  }

  locate(state: LayerState, kvHead: number, position: number): LocatedRow | undefined {
    const pages = state.pages[kvHead];
    const index = findPage(pages, position, this.layout.pageSize);
    if (index < 0) return undefined;
    const page = pages[index];
    for (const segment of page.segments) {
      const row = rowOf(segment, position);
      if (row >= 0) return { page, segment, row };
    }
    return undefined;
  }

  /** The page of `pageId`, with its index in the KV head's page list. */
  requirePage(layer: number, kvHead: number, pageId: number): { page: Page; index: number; pages: Page[] } {
    const state = this.layer(layer);
    this.checkKvHead(kvHead);
    const pages = state.pages[kvHead];
    const index = pages.findIndex((page) => page.id === pageId);
    if (index < 0) throw new PageStateError(`page ${pageId} does not exist in layer ${layer} KV head ${kvHead}`);
    return { page: pages[index], index, pages };
  }

  /** Decoded key and value of one token, undefined when dropped or never appended; throws when offloaded. */
  readToken(layer: number, kvHead: number, position: number, keyOut?: Float32Array, valueOut?: Float32Array): TokenRow | undefined {
    const state = this.layer(layer);
    this.checkKvHead(kvHead);
    const { headDim } = this.layout;
    const key = keyOut ?? new Float32Array(headDim);
    const value = valueOut ?? new Float32Array(headDim);
    if (!(Number.isInteger(position) && position >= 0 && position < state.length)) return undefined;
    if (position >= state.residualStart) {
      const rowIndex = this.residualIndex(kvHead, position - state.residualStart);
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

  /** Dense copy [kvHead][position][headDim]; dropped and offloaded rows read as zeros. */
  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array, decoder: RowDecoder): void {
    const state = this.layer(layer);
    const { headDim, kvHeads } = this.layout;
    const length = state.length;
    const need = kvHeads * length * headDim;
    if (keysOut.length < need || valuesOut.length < need) {
      throw new CacheConfigurationError(`readLayer: outputs need kvHeads × length × headDim = ${need} floats`);
    }
    keysOut.fill(0, 0, need);
    valuesOut.fill(0, 0, need);
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const headBase = kvHead * length;
      for (const page of state.pages[kvHead]) {
        if (page.location === "offloaded") continue;
        for (const segment of page.segments) {
          const count = segment.count;
          const keys = decoder.keys(segment.keyCodec, segment.keys as EncodedBlock, count);
          const values = decoder.values(segment.valueCodec, segment.values as EncodedBlock, count);
          for (let i = 0; i < count; i++) {
            if (!segment.live[i]) continue;
            const to = (headBase + positionAt(segment, i)) * headDim;
            keysOut.set(keys.subarray(i * headDim, (i + 1) * headDim), to);
            valuesOut.set(values.subarray(i * headDim, (i + 1) * headDim), to);
          }
        }
      }
      for (let r = 0; r < state.residualCount; r++) {
        const rowIndex = this.residualIndex(kvHead, r);
        if (!state.residualLive[rowIndex]) continue;
        const to = (headBase + state.residualStart + r) * headDim;
        keysOut.set(state.residualKeys.subarray(rowIndex * headDim, (rowIndex + 1) * headDim), to);
        valuesOut.set(state.residualValues.subarray(rowIndex * headDim, (rowIndex + 1) * headDim), to);
      }
    }
  }

  isLive(layer: number, kvHead: number, position: number): boolean {
    const state = this.layer(layer);
    this.checkKvHead(kvHead);
    if (!(Number.isInteger(position) && position >= 0 && position < state.length)) return false;
    if (position >= state.residualStart) return state.residualLive[this.residualIndex(kvHead, position - state.residualStart)] === 1;
    const found = this.locate(state, kvHead, position);
    return found !== undefined && found.segment.live[found.row] === 1;
  }

  liveCount(layer: number, kvHead: number): number {
    const state = this.layer(layer);
    this.checkKvHead(kvHead);
    let total = 0;
    for (const page of state.pages[kvHead]) total += pageLiveCount(page);
    for (let r = 0; r < state.residualCount; r++) total += state.residualLive[this.residualIndex(kvHead, r)];
    return total;
  }

  /** Live residual rows of one KV head. */
  residualLiveCount(state: LayerState, kvHead: number): number {
    let live = 0;
    for (let r = 0; r < state.residualCount; r++) live += state.residualLive[this.residualIndex(kvHead, r)];
    return live;
  }

  /** Every page of every layer × KV head, in order. */
  *allPages(): Generator<Page> {
    for (const state of this.layers) for (const pages of state.pages) yield* pages;
  }
}
