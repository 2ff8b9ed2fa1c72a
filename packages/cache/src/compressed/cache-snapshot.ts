import type { CodecSpec } from "@kvpack/codecs";
import { CacheConfigurationError, CorruptPageError } from "../errors.js";
import { decodePageRecord, encodePageRecord, type PageRecordSegment } from "../page-record.js";
import type { CacheLayout } from "./cache-layout.js";
import type { LayerState, LayerStorage } from "./layer-storage.js";
import { liveLayout, type Page, positionLayout, type Segment } from "./page.js";
import type { PageDigests } from "./page-digests.js";
import type { PageEncoder } from "./page-encoder.js";
import { pageToRecord } from "./page-records.js";

/** @internal Plain snapshot of a cache (session-format.ts writes it as bytes). */
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
    /** kvHeads × residualCount flags: bit 0 live, bit 1 tainted (see residualFlags). */
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

/** The parts a snapshot reads and writes. */
export interface SnapshotParts {
  readonly layout: CacheLayout;
  readonly storage: LayerStorage;
  readonly encoder: PageEncoder;
  readonly digests: PageDigests;
}

/** The residual rows each KV head holds, packed without the window's spare capacity. */
function packResidual<T extends Float32Array | Uint8Array>(layout: CacheLayout, state: LayerState, buffer: T, width: number): T {
  const out = new (buffer.constructor as new (length: number) => T)(layout.kvHeads * state.residualCount * width);
  for (let kvHead = 0; kvHead < layout.kvHeads; kvHead++) {
    const from = kvHead * layout.flushAt * width;
    out.set(buffer.subarray(from, from + state.residualCount * width) as never, kvHead * state.residualCount * width);
  }
  return out;
}

/** Per residual row: bit 0 live, bit 1 tainted (edited after it was computed); sessions before taints hold 0/1. */
function residualFlags(layout: CacheLayout, state: LayerState): Uint8Array {
  const flags = packResidual(layout, state, state.residualLive, 1);
  const tainted = packResidual(layout, state, state.residualTainted, 1);
  for (let i = 0; i < flags.length; i++) flags[i] = (flags[i] ? 1 : 0) | (tainted[i] ? 2 : 0);
  return flags;
}

/** Pages, residual windows and codec specs of every layer (offloaded pages without their blocks). */
export function exportLayers({ layout, storage, digests }: SnapshotParts): CacheSnapshot["layers"] {
  return storage.layers.map((state) => ({
    length: state.length,
    keySpec: state.keyCodec.spec as CodecSpec,
    valueSpec: state.valueCodec.spec as CodecSpec,
    residualStart: state.residualStart,
    residualCount: state.residualCount,
    residualKeys: packResidual(layout, state, state.residualKeys, layout.headDim),
    residualValues: packResidual(layout, state, state.residualValues, layout.headDim),
    residualLive: residualFlags(layout, state),
    pages: state.pages.map((pages) =>
      pages.map((page) => ({
        record: encodePageRecord(pageToRecord(page, layout.headDim, digests, page.location !== "offloaded")),
        location: page.location === "offloaded" ? ("offloaded" as const) : ("memory" as const),
        storeKey: page.storeKey,
        tier: page.tier,
        pristine: page.pristine,
      })),
    ),
  }));
}

/** Loads snapshot layers into a freshly constructed cache of the same shape (records verified). */
export function importLayers(parts: SnapshotParts, layers: CacheSnapshot["layers"]): void {
  const { layout, storage } = parts;
  if (layers.length !== layout.layers) throw new CacheConfigurationError(`snapshot has ${layers.length} layers, cache ${layout.layers}`);
  layers.forEach((saved, layer) => {
    const state = storage.layers[layer];
    const { length, residualStart, residualCount } = saved;
    if (
      !(residualCount >= 0 && residualCount < layout.flushAt) ||
      residualStart % layout.pageSize !== 0 ||
      residualStart + residualCount !== length ||
      saved.residualLive.length !== layout.kvHeads * residualCount
    ) {
      throw new CacheConfigurationError(`snapshot layer ${layer}: inconsistent residual window (${residualStart}+${residualCount} of ${length})`);
    }
    state.length = length;
    state.residualStart = residualStart;
    state.residualCount = residualCount;
    const { headDim } = layout;
    for (let kvHead = 0; kvHead < layout.kvHeads; kvHead++) {
      const base = kvHead * layout.flushAt;
      state.residualKeys.set(saved.residualKeys.subarray(kvHead * residualCount * headDim, (kvHead + 1) * residualCount * headDim), base * headDim);
      state.residualValues.set(saved.residualValues.subarray(kvHead * residualCount * headDim, (kvHead + 1) * residualCount * headDim), base * headDim);
      const flags = saved.residualLive.subarray(kvHead * residualCount, (kvHead + 1) * residualCount);
      for (let r = 0; r < residualCount; r++) {
        state.residualLive[base + r] = flags[r] & 1;
        state.residualTainted[base + r] = (flags[r] >> 1) & 1;
      }
      state.pages[kvHead] = saved.pages[kvHead].map((entry) => importPage(parts, layer, kvHead, entry));
    }
  });
}

function importPage(parts: SnapshotParts, layer: number, kvHead: number, entry: CacheSnapshot["layers"][number]["pages"][number][number]): Page {
  const record = decodePageRecord(entry.record, entry.storeKey);
  if (record.layer !== layer || record.kvHead !== kvHead) throw new CorruptPageError("page record in the wrong layer or KV head", entry.storeKey);
  const offloaded = entry.location === "offloaded";
  const page: Page = {
    id: parts.encoder.nextId(),
    layer,
    kvHead,
    firstPosition: record.firstPosition,
    segments: record.segments.map((stored) => importSegment(parts, stored, offloaded)),
    digest: parts.digests.create(),
    location: offloaded ? "offloaded" : "memory",
    storeKey: entry.storeKey,
    tier: entry.tier,
    pristine: entry.pristine,
    version: 0,
    revision: 0,
  };
  // Saved digests are re-stored in this cache's format (rounding outward again keeps the bound).
  parts.digests.adopt(page, record.keyMin, record.keyMax);
  return page;
}

function importSegment({ encoder, layout }: SnapshotParts, stored: PageRecordSegment, offloaded: boolean): Segment {
  const keyCodec = encoder.resolveCodec(stored.keySpec, "saved key codec");
  const valueCodec = encoder.resolveCodec(stored.valueSpec, "saved value codec");
  if (keyCodec.codecId !== stored.keyCodecId || valueCodec.codecId !== stored.valueCodecId) {
    throw new CorruptPageError(`codec id mismatch: saved ${stored.keyCodecId}/${stored.valueCodecId}, rebuilt ${keyCodec.codecId}/${valueCodec.codecId}`);
  }
  const count = stored.positions.length;
  const dimension = layout.headDim;
  return {
    count,
    ...positionLayout(stored.positions),
    ...liveLayout(stored.live),
    keyCodec,
    valueCodec,
    keys: offloaded ? undefined : { codecId: stored.keyCodecId, count, dimension, data: stored.keyData as Uint8Array },
    values: offloaded ? undefined : { codecId: stored.valueCodecId, count, dimension, data: stored.valueData as Uint8Array },
    keyByteLength: stored.keyByteLength,
    valueByteLength: stored.valueByteLength,
  };
}
