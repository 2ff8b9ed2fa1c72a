import type { Codec } from "@kvpack/codecs";
import type { CodecChoice, CodecRegistry } from "../codec-registry.js";
import { CacheConfigurationError } from "../errors.js";
import type { FlushContext, FlushSegmentPlan } from "../policy.js";
import type { CacheLayout } from "./cache-layout.js";
import type { LayerState } from "./layer-storage.js";
import { findPosition, type Page, positionLayout, type Segment, sharedAllLive } from "./page.js";
import type { PageDigests } from "./page-digests.js";

/** Rows of a page that get one codec pair. */
interface RowGroup {
  rows: number[];
  keyCodec: Codec;
  valueCodec: Codec;
}

/** Page ids are unique in the process, not only per cache: forks and attention backends shared by many caches key rows by id. */
let nextPageId = 1;

/**
 * Turns full-precision rows into pages: flushes a full residual window into pages of `pageSize`
 * tokens per KV head, splits a page into segments when a policy plans other codecs for some of
 * its tokens (mixed precision), and encodes each segment with its codec pair. Hands out page ids.
 */
export class PageEncoder {
  constructor(
    private readonly layout: CacheLayout,
    private readonly codecs: CodecRegistry,
    private readonly digests: PageDigests,
  ) {}

  /** The codec for `choice`, checked against the head dimension. */
  resolveCodec(choice: CodecChoice, what: string): Codec {
    const codec = this.codecs.get(choice);
    if (codec.dimension !== this.layout.headDim) {
      throw new CacheConfigurationError(`${what} has dimension ${codec.dimension}, expected headDim ${this.layout.headDim}`);
    }
    return codec;
  }

  nextId(): number {
    return nextPageId++;
  }

  /**
   * Encodes every whole page of the residual window's live rows (a KV head whose rows of a page
   * were all dropped gets no page) and empties the window. `planFlush` is the policy's hook.
   */
  flush(layer: number, state: LayerState, planFlush: (context: FlushContext) => readonly FlushSegmentPlan[] | undefined): void {
    const { headDim, pageSize, kvHeads, flushAt } = this.layout;
    const pagesToWrite = Math.floor(state.residualCount / pageSize);
    for (let p = 0; p < pagesToWrite; p++) {
      const firstPosition = state.residualStart + p * pageSize;
      for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
        const firstRow = kvHead * flushAt + p * pageSize;
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
        const plan = planFlush({ layer, kvHead, positions: positionArray, keys, values });
        const page = this.buildPage(layer, kvHead, firstPosition, positionArray, keys, values, state, plan);
        if (state.residualTainted.subarray(firstRow, firstRow + pageSize).includes(1)) page.pristine = false;
        state.pages[kvHead].push(page);
      }
    }
    const flushed = pagesToWrite * pageSize;
    const remaining = state.residualCount - flushed;
    if (remaining > 0) {
      // Only reachable if flushAt were not a multiple of pageSize; kept for safety.
      for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
        const base = kvHead * flushAt;
        state.residualKeys.copyWithin(base * headDim, (base + flushed) * headDim, (base + flushed + remaining) * headDim);
        state.residualValues.copyWithin(base * headDim, (base + flushed) * headDim, (base + flushed + remaining) * headDim);
        state.residualLive.copyWithin(base, base + flushed, base + flushed + remaining);
        state.residualTainted.copyWithin(base, base + flushed, base + flushed + remaining);
      }
    }
    state.residualStart += flushed;
    state.residualCount = remaining;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const base = kvHead * flushAt;
      state.residualLive.fill(0, base + remaining, base + flushAt);
      state.residualTainted.fill(0, base + remaining, base + flushAt);
    }
  }

  /** Encodes rows (ascending positions, count × headDim) into a page, split into segments by plan. */
  buildPage(
    layer: number,
    kvHead: number,
    firstPosition: number,
    positions: Int32Array,
    keys: Float32Array,
    values: Float32Array,
    state: LayerState,
    plan: readonly FlushSegmentPlan[] | undefined,
  ): Page {
    const segments: Segment[] = [];
    for (const group of this.groupRows(positions, state.keyCodec, state.valueCodec, plan)) {
      segments.push(this.encodeSegment(group.rows, positions, keys, values, group.keyCodec, group.valueCodec));
    }
    const page: Page = {
      id: this.nextId(),
      layer,
      kvHead,
      firstPosition,
      segments,
      digest: this.digests.create(),
      location: "memory",
      storeKey: undefined,
      tier: undefined,
      pristine: this.isPristine(segments, state),
      version: 0,
      revision: 0,
    };
    this.digests.recompute(page);
    return page;
  }

  /** One segment of pageSize live rows in the layer's own codecs: the page a prefix key names. */
  isPristine(segments: readonly Segment[], state: LayerState): boolean {
    return (
      segments.length === 1 &&
      segments[0].count === this.layout.pageSize &&
      segments[0].liveCount === segments[0].count &&
      segments[0].keyCodec === state.keyCodec &&
      segments[0].valueCodec === state.valueCodec
    );
  }

  private groupRows(positions: Int32Array, keyCodec: Codec, valueCodec: Codec, plan: readonly FlushSegmentPlan[] | undefined): RowGroup[] {
    const assigned = new Int32Array(positions.length).fill(-1);
    const groups: RowGroup[] = [];
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
    const defaultGroup: RowGroup = { rows: [], keyCodec, valueCodec };
    for (let row = 0; row < positions.length; row++) {
      const index = assigned[row];
      (index >= 0 ? groups[index] : defaultGroup).rows.push(row);
    }
    // Rows whose planned codecs equal the defaults join the default group (one segment, not two).
    const result: RowGroup[] = [];
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
  encodeSegment(
    rows: readonly number[],
    positions: Int32Array,
    keys: Float32Array,
    values: Float32Array,
    keyCodec: Codec,
    valueCodec: Codec,
  ): Segment {
    const { headDim } = this.layout;
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
}
