import type { Codec, CodecSpec, EncodedBlock } from "@kvpack/codecs";
import { CacheConfigurationError, PageStateError } from "../errors.js";
import type { PolicyAction } from "../policy.js";
import type { CacheLayout } from "./cache-layout.js";
import type { LayerStorage } from "./layer-storage.js";
import { markDropped, type Page, pageLiveCount, type Segment, segmentPositions } from "./page.js";
import type { PageDigests } from "./page-digests.js";
import type { PageEncoder } from "./page-encoder.js";
import type { PageTiering } from "./page-tiering.js";

/** Outcome of applying policy actions. */
export interface ApplyReport {
  readonly applied: number;
  readonly failed: readonly { readonly action: PolicyAction; readonly error: unknown }[];
}

/** Rows moved to another codec pair by a re-encode, gathered before they are encoded together. */
interface MovedRows {
  keyCodec: Codec;
  valueCodec: Codec;
  positions: number[];
  keys: number[];
  values: number[];
}

/**
 * What a retention policy can do to the cache: keep, re-encode at another rate (whole pages or
 * chosen tokens), drop tokens (masked out of attention), drop pages, merge two tokens, offload
 * and recall. `release` frees a page that leaves the cache.
 */
export class PolicyActions {
  constructor(
    private readonly layout: CacheLayout,
    private readonly storage: LayerStorage,
    private readonly encoder: PageEncoder,
    private readonly digests: PageDigests,
    private readonly tiering: PageTiering,
    private readonly release: (page: Page) => void,
  ) {}

  /**
   * Applies actions in order. Synchronous kinds (keep, reencode, drop, drop-page, merge) take
   * effect before this returns its promise; offload and recall finish when it resolves.
   */
  apply(actions: readonly PolicyAction[]): Promise<ApplyReport> {
    let applied = 0;
    const failed: { action: PolicyAction; error: unknown }[] = [];
    const waits: Promise<void>[] = [];
    for (const action of actions) {
      try {
        switch (action.kind) {
          case "keep":
            this.storage.requirePage(action.layer, action.kvHead, action.pageId);
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
                ? this.tiering.offloadPage(action.layer, action.kvHead, action.pageId, action.tier)
                : this.tiering.recallPage(action.layer, action.kvHead, action.pageId);
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

  /** Masks positions out of attention for one KV head (all when undefined); pages left with no live row are freed. */
  drop(layer: number, positions: ArrayLike<number>, kvHead?: number): void {
    const state = this.storage.layer(layer);
    if (kvHead !== undefined) this.storage.checkKvHead(kvHead);
    const firstHead = kvHead ?? 0;
    const lastHead = kvHead ?? this.layout.kvHeads - 1;
    for (let head = firstHead; head <= lastHead; head++) {
      const touched = new Set<Page>();
      for (let i = 0; i < positions.length; i++) {
        const position = positions[i];
        if (!(Number.isInteger(position) && position >= 0 && position < state.length)) continue;
        if (position >= state.residualStart) {
          state.residualLive[this.storage.residualIndex(head, position - state.residualStart)] = 0;
          continue;
        }
        const found = this.storage.locate(state, head, position);
        if (found === undefined || !markDropped(found.segment, found.row)) continue;
        found.page.pristine = false;
        found.page.revision += 1;
        touched.add(found.page);
      }
      if (touched.size > 0) {
        const pages = state.pages[head];
        const kept = pages.filter((page) => !touched.has(page) || pageLiveCount(page) > 0);
        for (const page of pages) if (!kept.includes(page)) this.release(page);
        state.pages[head] = kept;
      }
    }
  }

  dropPage(layer: number, kvHead: number, pageId: number): void {
    const { page, index, pages } = this.storage.requirePage(layer, kvHead, pageId);
    pages.splice(index, 1);
    this.release(page);
  }

  /**
   * Re-encodes a resident page's live rows (only `positions` when given) with other codecs: the
   * "keep at rate r" decision. Rows outside `positions` stay in their segments; a segment that
   * lost rows is re-encoded from its decoded rows with its own codecs. Dropped rows are compacted.
   */
  reencodePage(layer: number, kvHead: number, pageId: number, keys?: CodecSpec, values?: CodecSpec, positions?: ArrayLike<number>): void {
    const { page } = this.storage.requirePage(layer, kvHead, pageId);
    if (page.location !== "memory") throw new PageStateError(`page ${pageId} is ${page.location}; only resident pages can be re-encoded`);
    const state = this.storage.layers[layer];
    const newKeyCodec = keys ? this.encoder.resolveCodec(keys, "reencode keys codec") : undefined;
    const newValueCodec = values ? this.encoder.resolveCodec(values, "reencode values codec") : undefined;
    const selected = positions === undefined ? undefined : new Set(Array.from(positions));
    const { headDim } = this.layout;
    const newSegments: Segment[] = [];
    // Moved rows grouped by target codec pair (a side without a new codec keeps its segment's).
    const moved: MovedRows[] = [];
    for (const segment of page.segments) {
      const count = segment.count;
      const segmentPositionList = segmentPositions(segment);
      const isSelected = (i: number): boolean => selected === undefined || selected.has(segmentPositionList[i]);
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
        group.positions.push(segmentPositionList[i]);
        for (let c = 0; c < headDim; c++) {
          group.keys.push(decodedKeys[i * headDim + c]);
          group.values.push(decodedValues[i * headDim + c]);
        }
      }
      if (stayRows.length > 0) {
        newSegments.push(this.encoder.encodeSegment(stayRows, segmentPositionList, decodedKeys, decodedValues, segment.keyCodec, segment.valueCodec));
      }
    }
    for (const group of moved) newSegments.push(this.encodeMoved(group));
    // Re-encoded rows are no longer what the flush of their tokens produced (lossy codecs quantize
    // twice): such a page must not be shared by prefix key. Untouched segments keep the flag.
    const unchanged = newSegments.length === page.segments.length && newSegments.every((segment, i) => segment === page.segments[i]);
    page.segments = newSegments;
    page.pristine = page.pristine && unchanged && this.encoder.isPristine(newSegments, state);
    page.version += 1;
    page.revision += 1;
    this.digests.recompute(page);
    if (newSegments.length === 0) this.dropPage(layer, kvHead, pageId);
  }

  /** Moved rows sorted by position and encoded as one segment. */
  private encodeMoved(group: MovedRows): Segment {
    const { headDim } = this.layout;
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
    return this.encoder.encodeSegment(rows, sortedPositions, keyRows, valueRows, group.keyCodec, group.valueCodec);
  }

  /** (1 − weight)·row_into + weight·row_from replaces row `into`; `from` is dropped. */
  merge(layer: number, kvHead: number, from: number, into: number, weight = 0.5): void {
    const state = this.storage.layer(layer);
    this.storage.checkKvHead(kvHead);
    if (!(weight >= 0 && weight <= 1)) throw new CacheConfigurationError(`merge: weight must be in [0, 1], got ${weight}`);
    const fromRow = this.storage.readToken(layer, kvHead, from);
    const intoRow = this.storage.readToken(layer, kvHead, into);
    if (fromRow === undefined || intoRow === undefined) throw new PageStateError(`merge: position ${fromRow ? into : from} is not live`);
    const { headDim } = this.layout;
    for (let c = 0; c < headDim; c++) {
      intoRow.key[c] = (1 - weight) * intoRow.key[c] + weight * fromRow.key[c];
      intoRow.value[c] = (1 - weight) * intoRow.value[c] + weight * fromRow.value[c];
    }
    if (into >= state.residualStart) {
      const rowIndex = this.storage.residualIndex(kvHead, into - state.residualStart);
      state.residualKeys.set(intoRow.key, rowIndex * headDim);
      state.residualValues.set(intoRow.value, rowIndex * headDim);
      // Its page, once flushed, holds an edited row: never shareable by prefix key.
      state.residualTainted[rowIndex] = 1;
    } else {
      const { page, segment, row } = this.storage.locate(state, kvHead, into) as NonNullable<ReturnType<LayerStorage["locate"]>>;
      if (page.location !== "memory") throw new PageStateError(`merge: page ${page.id} is ${page.location}`);
      const count = segment.count;
      const keys = segment.keyCodec.decode(segment.keys as EncodedBlock);
      const values = segment.valueCodec.decode(segment.values as EncodedBlock);
      keys.set(intoRow.key, row * headDim);
      values.set(intoRow.value, row * headDim);
      const allRows = Array.from({ length: count }, (_, i) => i);
      const rebuilt = this.encoder.encodeSegment(allRows, segmentPositions(segment), keys, values, segment.keyCodec, segment.valueCodec);
      rebuilt.live = segment.live;
      rebuilt.liveShared = segment.liveShared;
      rebuilt.liveCount = segment.liveCount;
      page.segments[page.segments.indexOf(segment)] = rebuilt;
      page.pristine = false;
      page.version += 1;
      page.revision += 1;
      this.digests.recompute(page);
    }
    this.drop(layer, [from], kvHead);
  }
}
