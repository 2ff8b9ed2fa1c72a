import type { Codec } from "@kvpack/codecs";
import type { CacheEvent } from "../cache-event.js";
import { type CodecFactory, CodecRegistry } from "../codec-registry.js";
import type { KeyDigestFormat } from "../key-digest.js";
import type { PageTier } from "../page-store.js";
import type { FlushContext, FlushSegmentPlan } from "../policy.js";
import { type CacheLayout, cacheLayout } from "../compressed/cache-layout.js";
import { LayerStorage } from "../compressed/layer-storage.js";
import type { Page } from "../compressed/page.js";
import { PageDigests } from "../compressed/page-digests.js";
import { PageEncoder } from "../compressed/page-encoder.js";
import { PageTiering } from "../compressed/page-tiering.js";
import { PolicyActions } from "../compressed/policy-actions.js";
import { PrefixSharing } from "../compressed/prefix-sharing.js";
import { RowDecoder } from "../compressed/row-decoder.js";
import { createTestCodec, seededFloats, testCodecFactory } from "./test-codecs.js";

/**
 * The cache's parts wired the way the facade wires them, without the facade, so each part's
 * tests reach its state directly. `append` is the facade's append minus the argument checks.
 */
export interface CacheParts {
  readonly layout: CacheLayout;
  readonly codecs: CodecRegistry;
  readonly decoder: RowDecoder;
  readonly digests: PageDigests;
  readonly encoder: PageEncoder;
  readonly storage: LayerStorage;
  readonly tiering: PageTiering;
  readonly prefixes: PrefixSharing;
  readonly actions: PolicyActions;
  readonly events: CacheEvent[];
  /** Pages handed to `release` (dropped, emptied, truncated away). */
  readonly released: Page[];
  append(layer: number, keys: Float32Array, values: Float32Array): void;
  /** Appends `count` seeded tokens to every layer (token t of layer l is tokenRows(l, t)). */
  fill(count: number): void;
}

export interface CachePartsOptions {
  readonly layers?: number;
  readonly kvHeads?: number;
  readonly headDim?: number;
  readonly pageSize?: number;
  readonly residualWindow?: number;
  readonly keys?: Codec;
  readonly values?: Codec;
  readonly keyDigests?: boolean;
  readonly keyDigestFormat?: KeyDigestFormat;
  readonly tiers?: readonly PageTier[];
  readonly namespace?: string;
  readonly codecFactory?: CodecFactory;
  readonly planFlush?: (context: FlushContext) => readonly FlushSegmentPlan[] | undefined;
}

/** Seeded keys and values of token `position` of `layer` (kvHeads × headDim each). */
export function tokenRows(layer: number, position: number, stride: number): { keys: Float32Array; values: Float32Array } {
  return {
    keys: seededFloats(stride, 1000 + layer * 7919 + position * 31),
    values: seededFloats(stride, 5000 + layer * 7919 + position * 31),
  };
}

export function buildParts(options: CachePartsOptions = {}): CacheParts {
  const layout = cacheLayout({
    layers: options.layers ?? 1,
    kvHeads: options.kvHeads ?? 2,
    headDim: options.headDim ?? 4,
    pageSize: options.pageSize ?? 4,
    residualWindow: options.residualWindow ?? 4,
  });
  const { headDim } = layout;
  const codecs = new CodecRegistry(options.codecFactory ?? testCodecFactory);
  const decoder = new RowDecoder(headDim);
  const digests = new PageDigests(options.keyDigests ?? false, options.keyDigestFormat ?? "fp16", headDim, decoder);
  const encoder = new PageEncoder(layout, codecs, digests);
  // One fp32 instance for both sides by default, as the facade gets from equal specs.
  const fp32 = createTestCodec({ kind: "fp32", dimension: headDim });
  const keyCodec = codecs.get(options.keys ?? fp32);
  const valueCodec = codecs.get(options.values ?? fp32);
  const storage = new LayerStorage(
    layout,
    Array.from({ length: layout.layers }, () => keyCodec),
    Array.from({ length: layout.layers }, () => valueCodec),
  );
  const events: CacheEvent[] = [];
  const released: Page[] = [];
  const emit = (event: CacheEvent): void => {
    events.push(event);
  };
  // Late-bound like the facade's: tiering asks prefix sharing for the key of a pristine page.
  let prefixes: PrefixSharing | undefined;
  const tiering = new PageTiering(
    options.tiers ?? [],
    storage,
    headDim,
    digests,
    "test-session",
    (page) => prefixes?.prefixKey(page.layer, page.kvHead, page.firstPosition / layout.pageSize),
    emit,
  );
  prefixes = new PrefixSharing(layout, options.namespace ?? "", storage, encoder, digests, tiering, emit);
  const release = (page: Page): void => {
    page.version += 1;
    page.revision += 1;
    released.push(page);
    tiering.deletePrivateCopy(page);
  };
  const actions = new PolicyActions(layout, storage, encoder, digests, tiering, release);
  const planFlush = options.planFlush ?? (() => undefined);
  const append = (layer: number, keys: Float32Array, values: Float32Array): void => {
    const state = storage.layer(layer);
    if (storage.appendRow(state, keys, values)) encoder.flush(layer, state, planFlush);
  };
  const stride = layout.kvHeads * headDim;
  return {
    layout,
    codecs,
    decoder,
    digests,
    encoder,
    storage,
    tiering,
    prefixes,
    actions,
    events,
    released,
    append,
    fill(count: number): void {
      for (let t = 0; t < count; t++) {
        for (let layer = 0; layer < layout.layers; layer++) {
          const position = storage.layers[layer].length;
          const { keys, values } = tokenRows(layer, position, stride);
          append(layer, keys, values);
        }
      }
    },
  };
}

/** Row `row` (headDim floats) of KV head `kvHead` inside a token's kvHeads × headDim array. */
export function headSlice(rows: Float32Array, kvHead: number, headDim: number): Float32Array {
  return rows.subarray(kvHead * headDim, (kvHead + 1) * headDim);
}
