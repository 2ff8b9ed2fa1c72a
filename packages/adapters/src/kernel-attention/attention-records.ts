import type { AttendedPage } from "@kvpack/cache";
import type { Codec, TableCodecView } from "@kvpack/codecs";
import type { ResidentSegment } from "./resident-pages.js";

// What WasmPageAttention keeps in the kernels' heap between and within calls: per lane group, per
// work item and per layer. Every number naming memory is a byte offset into the heap.

/** Query lanes and score tables of one key codec for one lane group. */
export interface KeyTables {
  /** headDim × f32x4: the group's queries rotated into the codec's domain and scaled. */
  readonly queries: number;
  readonly blockTable: number;
  readonly byteTable: number;
}

/** Heap scratch of one lane group (up to 4 query heads of one KV head). */
export interface GroupScratch {
  /** headDim × f32x4: the scaled queries as they are (dense keys, the residual window). */
  readonly denseQueries: number;
  /** Score rows (then weights), scoreRows of them. */
  scores: number;
  scoreRows: number;
  readonly keyTables: Map<Codec, KeyTables>;
}

/** Heap scratch of one work item: its softmax partial and value sums. */
export interface ItemScratch {
  /** [max × 4 | Σ exp × 4]. */
  readonly result: number;
  readonly denseAccumulator: number;
  /** 4096 bytes for the histogram expansion. */
  readonly scratch: number;
  /** Per value table codec: a histogram (rowBytes × 256 f32x4, kept zero between calls) and an accumulator. */
  readonly values: Map<Codec, { readonly histogram: number; readonly accumulator: number }>;
}

/**
 * One layer's segment records and what they were written from. They stay valid while the layer's
 * pages are the same objects at the same revisions, the query-head count is the same and no
 * scratch they point into moved (`epoch`): then a step rewrites only the residual records.
 */
export interface LayerRecords {
  segmentTable: number;
  segmentCapacity: number;
  heads: number;
  epoch: number;
  /** Per KV head, its pages and their revisions when the records were written. */
  readonly pages: AttendedPage[][];
  readonly revisions: number[][];
  /** Per KV head, the resident segments of each page (undefined: offloaded), its page rows and segments. */
  readonly residentByHead: Array<Array<readonly ResidentSegment[] | undefined>>;
  readonly pageRowsByHead: number[];
  readonly segmentsByHead: number[];
  /** The layer's table codecs (value codecs in slot order, `valueSlots` their indices). */
  readonly keyViews: TableCodecView[];
  readonly valueViews: TableCodecView[];
  readonly valueSlots: Map<Codec, number>;
  /** Per lane group, its first segment record; its last is the residual window's (0 rows when empty). */
  readonly groupFirstSegment: number[];
}

/** Where one lane group's records lie this call. */
export interface GroupPlan {
  /** Index into the group scratch. */
  group: number;
  kvHead: number;
  firstHead: number;
  laneCount: number;
  /** Its segment records [firstSegment, segmentEnd), the residual window's last. */
  firstSegment: number;
  segmentEnd: number;
  firstItem: number;
  itemEnd: number;
}
