import type { AttentionBackend, LayerAttentionRequest } from "@kvpack/cache";
import type { Codec, TableCodecView } from "@kvpack/codecs";
// Types only: createWasmPageAttention (create-wasm-page-attention.ts) loads the module.
import type { AttendItemsLayout, PagedAttentionKernels } from "@kvpack/kernels";
import type { GroupPlan, GroupScratch, ItemScratch, KeyTables, LayerRecords } from "./attention-records.js";
import { mergeGroupItems, type ItemMergeScratch } from "./merge-items.js";
import { ResidentPages } from "./resident-pages.js";
import { itemSplits } from "./item-splits.js";

/**
 * Whether `rows` rows of a table codec score and accumulate through code-level tables (fixed cost
 * blocks × size per query, one lookup per code) rather than byte tables (fixed cost rowBytes × 256,
 * one lookup per code byte): below 0.85 · rowBytes · 256 / codesPerRow rows. Measured on one query's
 * scores, softmax and values over pages of 32 rows, head_dim 64 (kernels alone, this machine): the
 * code-level tables are faster up to ~110 rows for TurboQuant 4-bit (32 bytes, 64 codes; 16 rows:
 * 5.7 against 15.6 µs) and FibQuant k=2 2-bit (16 bytes, 32 codes; 3.4 against 8.3 µs), and up to
 * ~380 for 8-bit codes (6-bit TurboQuant), where this rule switches at 217: early, never wrong-sided.
 */
export function prefersCodeLevelTables(view: TableCodecView, rows: number): boolean {
  return rows * view.codesPerRow < 0.85 * view.rowBytes * 256;
}

export interface WasmPageAttentionOptions {
  /**
   * Which score and value tables table codecs use: "auto" (default) picks per lane group by the KV
   * head's row count (prefersCodeLevelTables); "bytes" or "codes" force one (tests, measurements).
   */
  readonly tables?: "auto" | "bytes" | "codes";
  /**
   * With kernels on more than one thread: a layer goes to the pool from this many rows (over all
   * lane groups; default 8192); fewer run on the calling thread, where waking a worker costs more
   * than it saves.
   */
  readonly parallelMinimumRows?: number;
  /** Smallest run of rows one work item takes when a lane group is split over threads (default 1024). */
  readonly minimumItemRows?: number;
  /**
   * Work items per thread a split layer aims for (default 4): more, smaller items balance the
   * threads better (a worker that wakes late takes fewer), each adds a histogram expansion and a merge.
   */
  readonly itemsPerThread?: number;
}

/**
 * The cache's attention on the WASM SIMD paged-attention kernels (@kvpack/kernels
 * createPagedAttentionKernels). Pages stay resident in the kernels' heap (ResidentPages: uploaded
 * once per page id and revision, freed on release), so a decoding step uploads only the residual
 * window. Per KV head, up to 4 of its query heads ride in the lanes of every f32x4 (GQA), so each
 * row is read once per lane group.
 *
 * A layer is written as records (one per page segment and one for the residual window) cut into
 * work items, runs of a lane group's consecutive rows, which `attendItems` runs in WASM: each item
 * scores its rows, takes their softmax partial (max, Σ exp) and accumulates its values, one
 * histogram per table codec (expanded through the codewords once) and one fp32 accumulator for
 * dense pages and the residual window. With kernels on several threads a long layer's groups are
 * split into items over the pool; the host merges a group's items by rescaling each with
 * exp(max_item − max) (flash-decoding), then rotates each codec's sum back and normalizes. On one
 * thread each group is one item, whose merge is exact.
 * Table codecs score through byte tables (rowBytes × 256 entries per query) or, when the KV head
 * has few page rows (prefersCodeLevelTables), through the block table and a per-code histogram.
 *
 * Serves TurboQuant / FibQuant (≤ 256 codewords per code, centered or not) and fp32 / fp16 pages;
 * a layer with any other codec (KIVI, QuaRot, int8, …) returns false and the cache attends it in
 * TypeScript. fp16 pages stay 2 bytes per value in the heap (widened exactly by the kernels). One instance may serve many caches
 * (page ids are unique in the process); call `clear()` when caches are discarded without release.
 */
export class WasmPageAttention implements AttentionBackend {
  readonly name = "wasm";
  private readonly kernels: PagedAttentionKernels;
  private readonly layout: AttendItemsLayout;
  private readonly pages: ResidentPages;
  private readonly tables: "auto" | "bytes" | "codes";
  private readonly parallelMinimumRows: number;
  private readonly minimumItemRows: number;
  private readonly itemsPerThread: number;
  private headDim = 0;
  /** Bumped whenever scratch that segment records point into moves (or pages are cleared): every layer's records are then rewritten. */
  private epoch = 1;
  private readonly groups: GroupScratch[] = [];
  private readonly items: ItemScratch[] = [];
  private readonly groupPlans: GroupPlan[] = [];
  /** Per layer (keyed by the cache's per-KV-head page arrays), its segment records. */
  private readonly layers = new WeakMap<object, LayerRecords>();
  /** Frees a dropped cache layer's segment table. */
  private readonly collected: FinalizationRegistry<number>;
  /** Item and slot record tables, shared by every layer (rewritten per call). */
  private itemTable = 0;
  private itemCapacity = 0;
  private slotTable = 0;
  private slotCapacity = 0;
  private residualKeys = 0;
  private residualValues = 0;
  private residualLive = 0;
  private residualCapacity = 0;
  private readonly codewordPointers = new Map<Codec, number>();
  private rotated = new Float32Array(0);
  private finishScratch = new Float32Array(0);
  private laneScratch = new Float32Array(0);
  /** Per item of a group and lane: exp(max_item − max), 0 for an item without live rows. */
  private factors = new Float64Array(0);

  constructor(kernels: PagedAttentionKernels, options: WasmPageAttentionOptions = {}) {
    this.kernels = kernels;
    this.layout = kernels.itemLayout;
    this.tables = options.tables ?? "auto";
    this.parallelMinimumRows = options.parallelMinimumRows ?? 8192;
    this.minimumItemRows = Math.max(1, options.minimumItemRows ?? 1024);
    this.itemsPerThread = Math.max(1, options.itemsPerThread ?? 4);
    this.pages = new ResidentPages(kernels.heap);
    const heap = kernels.heap;
    this.collected = new FinalizationRegistry((pointer) => heap.free(pointer));
  }

  /** Threads the kernels run on (long layers are split over them). */
  get threads(): number {
    return this.kernels.threads;
  }

  /** Heap bytes held by resident page rows. */
  get residentBytes(): number {
    return this.pages.byteLength;
  }

  get residentPageCount(): number {
    return this.pages.pageCount;
  }

  /** Pages uploaded so far: grows by the pages flushed or changed since the last step, never per step. */
  get uploadCount(): number {
    return this.pages.uploads;
  }

  pageReleased(pageId: number): void {
    this.pages.release(pageId);
  }

  /** Frees every resident page (their caches were discarded, or to start over). */
  clear(): void {
    this.pages.clear();
    this.epoch++;
  }

  /** Stops the kernels' worker threads when they have their own pool (a backend's stays up); attention goes on on the calling thread. */
  dispose(): void {
    this.kernels.dispose();
  }

  attendLayer(request: LayerAttentionRequest): boolean {
    if (this.failure !== undefined) return false;
    try {
      return this.attendAll(request);
    } catch (error) {
      // E.g. the heap cannot grow: the cache attends in TypeScript from now on, which overwrites
      // every output and weight this call may have written.
      this.failure = error instanceof Error ? error.message : String(error);
      console.warn(`WasmPageAttention: falling back to TypeScript attention: ${this.failure}`);
      return false;
    }
  }

  /** Why the backend stopped serving (it then declines every call), or undefined. */
  failure: string | undefined;

  private attendAll(request: LayerAttentionRequest): boolean {
    const { heads, kvHeads, headDim, residual } = request;
    // Allocation phase: every page resident, every scratch buffer and record table sized. Nothing
    // after it allocates, so heap views taken below stay valid for the whole call.
    this.ensureHeadDim(headDim);
    this.ensureResidual(kvHeads * residual.stride);
    const records = this.layerRecords(request);
    if (records === undefined) return false;
    const groupsPerHead = Math.ceil(heads / kvHeads / 4);
    const groupSize = heads / kvHeads;
    const groupCount = kvHeads * groupsPerHead;
    let totalRows = 0;
    let maximumRows = 0;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const rows = records.pageRowsByHead[kvHead] + residual.count;
      totalRows += rows * groupsPerHead;
      maximumRows = Math.max(maximumRows, rows);
    }
    const parallel = this.kernels.threads > 1 && totalRows >= this.parallelMinimumRows;
    const splits = parallel ? itemSplits(groupCount, this.kernels.threads, this.itemsPerThread, Math.floor(maximumRows / this.minimumItemRows)) : 1;
    const itemLimit = groupCount * splits;
    for (let item = 0; item < itemLimit; item++) this.ensureItem(item, records.valueViews);
    this.ensureItemTables(itemLimit, itemLimit * records.valueViews.length);

    const memory = this.kernels.heap.memory.buffer;
    const f32 = new Float32Array(memory);
    const i32 = new Int32Array(memory);
    const u8 = new Uint8Array(memory);
    if (residual.count > 0) {
      for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
        const rowBase = kvHead * residual.stride;
        const floats = residual.count * headDim;
        f32.set(residual.keys.subarray(rowBase * headDim, rowBase * headDim + floats), (this.residualKeys >> 2) + rowBase * headDim);
        f32.set(residual.values.subarray(rowBase * headDim, rowBase * headDim + floats), (this.residualValues >> 2) + rowBase * headDim);
        u8.set(residual.live.subarray(rowBase, rowBase + residual.count), this.residualLive + rowBase);
      }
    }

    // Per lane group: its queries and tables, its residual record's row count, and its items.
    const plans = this.groupPlans;
    plans.length = 0;
    const segmentWords = this.layout.segmentWords;
    const rowsWord = this.layout.segment.rows;
    let item = 0;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      for (let first = 0; first < groupSize; first += 4) {
        const group = plans.length;
        const firstSegment = records.groupFirstSegment[group];
        const segmentEnd = firstSegment + records.segmentsByHead[kvHead] + 1;
        const plan: GroupPlan = {
          group, kvHead, firstHead: kvHead * groupSize + first, laneCount: Math.min(4, groupSize - first), firstSegment, segmentEnd, firstItem: item, itemEnd: item,
        };
        plans.push(plan);
        this.writeQueries(request, records, plan, f32);
        i32[(records.segmentTable >> 2) + (segmentEnd - 1) * segmentWords + rowsWord] = residual.count;
        item = this.writeItems(records, plan, splits, item, i32);
      }
    }

    this.kernels.attendItems(this.itemTable, records.segmentTable, headDim, item, parallel);

    for (const plan of plans) {
      const scratch: ItemMergeScratch = {
        layout: this.layout, items: this.items, slotTable: this.slotTable, itemTable: this.itemTable, scores: this.groups[plan.group].scores,
        factors: this.factors, sums: this.laneScratch, finishScratch: this.finishScratch,
      };
      mergeGroupItems(request, records, plan, scratch, f32, i32);
    }
    return true;
  }

  /**
   * The layer's segment records: the ones written before when nothing they were written from
   * changed, else rewritten (every page resident first, uploaded when new or changed); undefined
   * when a page has a codec without kernels.
   */
  private layerRecords(request: LayerAttentionRequest): LayerRecords | undefined {
    let records = this.layers.get(request.pages);
    if (records !== undefined && this.stillValid(records, request)) return records;
    if (records === undefined) {
      records = {
        segmentTable: 0, segmentCapacity: 0, heads: 0, epoch: 0, pages: [], revisions: [], residentByHead: [], pageRowsByHead: [], segmentsByHead: [],
        keyViews: [], valueViews: [], valueSlots: new Map(), groupFirstSegment: [],
      };
      this.layers.set(request.pages, records);
    }
    if (!this.makeResident(request, records)) {
      records.epoch = 0;
      return undefined;
    }
    const { heads, kvHeads, residual } = request;
    const groupsPerHead = Math.ceil(heads / kvHeads / 4);
    let segmentCount = 0;
    let maximumRows = 0;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      segmentCount += (records.segmentsByHead[kvHead] + 1) * groupsPerHead;
      maximumRows = Math.max(maximumRows, records.pageRowsByHead[kvHead] + residual.stride);
    }
    for (let group = 0; group < kvHeads * groupsPerHead; group++) this.ensureGroup(group, maximumRows, records.keyViews);
    if (segmentCount > records.segmentCapacity) {
      const heap = this.kernels.heap;
      if (records.segmentCapacity > 0) {
        this.collected.unregister(records);
        heap.free(records.segmentTable);
      }
      records.segmentCapacity = Math.max(segmentCount, records.segmentCapacity * 2, 16);
      records.segmentTable = heap.allocate(records.segmentCapacity * this.layout.segmentWords * 4);
      this.collected.register(request.pages, records.segmentTable, records);
    }
    const i32 = new Int32Array(this.kernels.heap.memory.buffer);
    const groupSize = heads / kvHeads;
    let segment = 0;
    let group = 0;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      for (let first = 0; first < groupSize; first += 4) {
        records.groupFirstSegment[group] = segment;
        segment = this.writeSegments(request, records, this.groups[group], kvHead, segment, i32);
        group++;
      }
    }
    records.heads = heads;
    records.epoch = this.epoch;
    return records;
  }

  /** Whether the layer's pages are the ones (same objects, same revisions) the records were written from. */
  private stillValid(records: LayerRecords, request: LayerAttentionRequest): boolean {
    if (records.epoch !== this.epoch || records.heads !== request.heads) return false;
    for (let kvHead = 0; kvHead < request.kvHeads; kvHead++) {
      const pages = request.pages[kvHead];
      const written = records.pages[kvHead];
      const revisions = records.revisions[kvHead];
      if (written === undefined || pages.length !== written.length) return false;
      for (let p = 0; p < pages.length; p++) if (pages[p] !== written[p] || pages[p].revision !== revisions[p]) return false;
    }
    return true;
  }

  /** Every attended page resident (uploaded when new or changed), and the layer's codecs, rows and segments noted. */
  private makeResident(request: LayerAttentionRequest, records: LayerRecords): boolean {
    const { residentByHead } = records;
    records.keyViews.length = 0;
    records.valueViews.length = 0;
    records.valueSlots.clear();
    let lastKeyCodec: Codec | undefined;
    let lastValueCodec: Codec | undefined;
    for (let kvHead = 0; kvHead < request.kvHeads; kvHead++) {
      const pages = request.pages[kvHead];
      const resident = (residentByHead[kvHead] ??= []);
      const written = (records.pages[kvHead] ??= []);
      const revisions = (records.revisions[kvHead] ??= []);
      resident.length = pages.length;
      written.length = pages.length;
      revisions.length = pages.length;
      let rows = 0;
      let segmentCount = 0;
      for (let p = 0; p < pages.length; p++) {
        const page = pages[p];
        written[p] = page;
        revisions[p] = page.revision;
        if (page.location === "offloaded") {
          this.pages.release(page.id);
          resident[p] = undefined;
          continue;
        }
        const segments = this.pages.current(page) ?? this.pages.refresh(page);
        if (segments === undefined) return false;
        resident[p] = segments;
        for (let s = 0; s < segments.length; s++) {
          const { keyView, valueView } = segments[s];
          // Pages of one codec follow each other: compare with the last codec noted before searching.
          if (keyView.kind === "table" && keyView.codec !== lastKeyCodec) {
            lastKeyCodec = keyView.codec;
            if (!records.keyViews.some((view) => view.codec === keyView.codec)) records.keyViews.push(keyView);
          }
          if (valueView.kind === "table" && valueView.codec !== lastValueCodec) {
            lastValueCodec = valueView.codec;
            if (!records.valueSlots.has(valueView.codec)) {
              records.valueSlots.set(valueView.codec, records.valueViews.length);
              records.valueViews.push(valueView);
            }
          }
          rows += segments[s].count;
        }
        segmentCount += segments.length;
      }
      records.pageRowsByHead[kvHead] = rows;
      records.segmentsByHead[kvHead] = segmentCount;
    }
    for (const view of records.keyViews) this.uploadCodewords(view);
    for (const view of records.valueViews) this.uploadCodewords(view);
    return true;
  }

  /** The group's dense query lanes, and its key tables for every key table codec of the layer. */
  private writeQueries(request: LayerAttentionRequest, records: LayerRecords, plan: GroupPlan, f32: Float32Array): void {
    const { headDim, queries, scale } = request;
    const scratch = this.groups[plan.group];
    const denseBase = scratch.denseQueries >> 2;
    f32.fill(0, denseBase, denseBase + headDim * 4);
    for (let lane = 0; lane < plan.laneCount; lane++) {
      const query = (plan.firstHead + lane) * headDim;
      for (let i = 0; i < headDim; i++) f32[denseBase + i * 4 + lane] = queries[query + i] * scale;
    }
    const rows = records.pageRowsByHead[plan.kvHead];
    for (const view of records.keyViews) {
      const tables = scratch.keyTables.get(view.codec) as KeyTables;
      const codeLevel = this.codeLevel(view, rows);
      const base = tables.queries >> 2;
      f32.fill(0, base, base + headDim * 4);
      const rotated = this.rotated;
      for (let lane = 0; lane < plan.laneCount; lane++) {
        view.rotate(queries.subarray((plan.firstHead + lane) * headDim, (plan.firstHead + lane + 1) * headDim), rotated);
        for (let i = 0; i < headDim; i++) f32[base + i * 4 + lane] = rotated[i] * scale;
      }
      const codewords = this.codewords(view);
      if (codeLevel) this.kernels.tableBlockTable(tables.queries, codewords, view.codesPerRow, view.blockSize, view.radix, tables.blockTable);
      else this.kernels.tableScoreTables(tables.queries, codewords, view.rowBytes, view.bitWidth, view.codesPerRow, view.blockSize, view.radix, tables.blockTable, tables.byteTable);
    }
  }

  /** One record per resident segment of the KV head, then one for the residual window; returns the next record index. */
  private writeSegments(request: LayerAttentionRequest, records: LayerRecords, scratch: GroupScratch, kvHead: number, segment: number, i32: Int32Array): number {
    const { kinds, segmentWords, segment: word } = this.layout;
    const { residual, headDim } = request;
    const rows = records.pageRowsByHead[kvHead];
    let row = 0;
    for (const segments of records.residentByHead[kvHead]) {
      if (segments === undefined) continue;
      for (const resident of segments) {
        const base = (records.segmentTable >> 2) + segment * segmentWords;
        const { keyView, valueView } = resident;
        i32[base + word.keys] = resident.keys;
        i32[base + word.keyNorms] = resident.keyNorms;
        i32[base + word.keyMean] = resident.keyMean;
        i32[base + word.live] = resident.live;
        i32[base + word.rows] = resident.count;
        i32[base + word.scores] = scratch.scores + row * 16;
        if (keyView.kind === "table") {
          const tables = scratch.keyTables.get(keyView.codec) as KeyTables;
          const codeLevel = this.codeLevel(keyView, rows);
          i32[base + word.keyKind] = codeLevel ? kinds.tableCodes : kinds.tableBytes;
          i32[base + word.queries] = tables.queries;
          i32[base + word.keyTable] = codeLevel ? tables.blockTable : tables.byteTable;
          i32[base + word.keyRowBytes] = keyView.rowBytes;
          i32[base + word.keyBitWidth] = keyView.bitWidth;
          i32[base + word.keyBlocks] = keyView.codesPerRow;
          i32[base + word.keySize] = keyView.radix;
        } else {
          i32[base + word.keyKind] = resident.keyHalf ? kinds.denseFloat16 : kinds.denseFloat32;
          i32[base + word.queries] = scratch.denseQueries;
        }
        i32[base + word.values] = resident.values;
        i32[base + word.valueNorms] = resident.valueNorms;
        i32[base + word.valueMean] = resident.valueMean;
        if (valueView.kind === "table") {
          i32[base + word.valueKind] = this.codeLevel(valueView, rows) ? kinds.tableCodes : kinds.tableBytes;
          i32[base + word.valueSlot] = records.valueSlots.get(valueView.codec) as number;
          i32[base + word.valueRowBytes] = valueView.rowBytes;
          i32[base + word.valueBitWidth] = valueView.bitWidth;
          i32[base + word.valueBlocks] = valueView.codesPerRow;
          i32[base + word.valueSize] = valueView.radix;
        } else {
          i32[base + word.valueKind] = resident.valueHalf ? kinds.denseFloat16 : kinds.denseFloat32;
        }
        row += resident.count;
        segment++;
      }
    }
    // The residual window's record, always written (its row count is set per call, 0 when empty).
    const base = (records.segmentTable >> 2) + segment * segmentWords;
    const rowBase = kvHead * residual.stride;
    i32[base + word.keyKind] = kinds.denseFloat32;
    i32[base + word.keys] = this.residualKeys + rowBase * headDim * 4;
    i32[base + word.live] = this.residualLive + rowBase;
    i32[base + word.rows] = 0;
    i32[base + word.scores] = scratch.scores + row * 16;
    i32[base + word.queries] = scratch.denseQueries;
    i32[base + word.valueKind] = kinds.denseFloat32;
    i32[base + word.values] = this.residualValues + rowBase * headDim * 4;
    segment++;
    return segment;
  }

  /** Cuts the group's segments into up to `splits` items of about equal rows; returns the next item index. */
  private writeItems(records: LayerRecords, plan: GroupPlan, splits: number, item: number, i32: Int32Array): number {
    const { segmentWords, itemWords, slotWords, kinds, item: itemWord, slot: slotWord } = this.layout;
    const { firstSegment, segmentEnd } = plan;
    const scratch = this.groups[plan.group];
    const slotCount = records.valueViews.length;
    let rowsLeft = 0;
    for (let s = firstSegment; s < segmentEnd; s++) rowsLeft += i32[(records.segmentTable >> 2) + s * segmentWords + this.layout.segment.rows];
    plan.firstItem = item;
    let segment = firstSegment;
    let row = 0;
    let itemsLeft = splits;
    do {
      const target = Math.ceil(rowsLeft / itemsLeft);
      const first = segment;
      let rows = 0;
      // At least one segment per item (an empty group still gets one item, with no rows).
      while (segment < segmentEnd && (rows < target || segment === first)) rows += i32[(records.segmentTable >> 2) + segment++ * segmentWords + this.layout.segment.rows];
      const itemScratch = this.items[item];
      const base = (this.itemTable >> 2) + item * itemWords;
      const slots = this.slotTable + item * slotCount * slotWords * 4;
      i32[base + itemWord.firstSegment] = first;
      i32[base + itemWord.segmentEnd] = segment;
      i32[base + itemWord.scores] = scratch.scores + row * 16;
      i32[base + itemWord.rows] = rows;
      i32[base + itemWord.result] = itemScratch.result;
      i32[base + itemWord.denseAccumulator] = itemScratch.denseAccumulator;
      i32[base + itemWord.slots] = slots;
      i32[base + itemWord.slotCount] = slotCount;
      i32[base + itemWord.scratch] = itemScratch.scratch;
      for (let k = 0; k < slotCount; k++) {
        const view = records.valueViews[k];
        const sums = itemScratch.values.get(view.codec) as { histogram: number; accumulator: number };
        const slot = (slots >> 2) + k * slotWords;
        i32[slot + slotWord.histogram] = sums.histogram;
        i32[slot + slotWord.accumulator] = sums.accumulator;
        i32[slot + slotWord.used] = 0;
        i32[slot + slotWord.kind] = this.codeLevel(view, records.pageRowsByHead[plan.kvHead]) ? kinds.tableCodes : kinds.tableBytes;
        i32[slot + slotWord.rowBytes] = view.rowBytes;
        i32[slot + slotWord.bitWidth] = view.bitWidth;
        i32[slot + slotWord.blocks] = view.codesPerRow;
        i32[slot + slotWord.blockSize] = view.blockSize;
        i32[slot + slotWord.size] = view.radix;
        i32[slot + slotWord.codewords] = this.codewords(view);
      }
      row += rows;
      rowsLeft -= rows;
      itemsLeft--;
      item++;
    } while (segment < segmentEnd && itemsLeft > 0);
    plan.itemEnd = item;
    return item;
  }

  private codeLevel(view: TableCodecView, rows: number): boolean {
    return this.tables === "auto" ? prefersCodeLevelTables(view, rows) : this.tables === "codes";
  }

  private codewords(view: TableCodecView): number {
    return this.codewordPointers.get(view.codec) as number;
  }

  private ensureHeadDim(headDim: number): void {
    if (this.headDim === headDim) return;
    if (this.headDim !== 0) throw new Error(`WasmPageAttention serves one head dimension (${this.headDim}), got ${headDim}`);
    this.headDim = headDim;
    this.rotated = new Float32Array(headDim);
    this.finishScratch = new Float32Array(headDim);
    this.laneScratch = new Float32Array(headDim);
  }

  /** Group `index`'s queries, `rows` score rows and tables for every key codec of the layer. */
  private ensureGroup(index: number, rows: number, keyViews: readonly TableCodecView[]): void {
    const heap = this.kernels.heap;
    let group = this.groups[index];
    if (group === undefined) {
      group = { denseQueries: heap.allocate(this.headDim * 16), scores: 0, scoreRows: 0, keyTables: new Map() };
      this.groups[index] = group;
    }
    if (rows > group.scoreRows) {
      if (group.scoreRows > 0) heap.free(group.scores);
      this.epoch++;
      group.scoreRows = Math.max(rows, group.scoreRows * 2, 64);
      group.scores = heap.allocate(group.scoreRows * 16);
    }
    for (const view of keyViews) {
      if (group.keyTables.has(view.codec)) continue;
      group.keyTables.set(view.codec, {
        queries: heap.allocate(this.headDim * 16),
        blockTable: heap.allocate(view.codesPerRow * view.radix * 16),
        byteTable: heap.allocate(view.rowBytes * 4096),
      });
    }
  }

  /** Item `index`'s result, accumulators and a zeroed histogram for every value codec of the layer. */
  private ensureItem(index: number, valueViews: readonly TableCodecView[]): void {
    const heap = this.kernels.heap;
    let item = this.items[index];
    if (item === undefined) {
      item = { result: heap.allocate(64), denseAccumulator: heap.allocate(this.headDim * 16), scratch: heap.allocate(4096), values: new Map() };
      this.items[index] = item;
    }
    for (const view of valueViews) {
      if (item.values.has(view.codec)) continue;
      // The histogram (rowBytes × 256 bins) holds the code-level one too (blocks × size ≤ that); either expansion clears what it used.
      const histogram = heap.allocate(view.rowBytes * 4096);
      heap.uint8(histogram, view.rowBytes * 4096).fill(0);
      item.values.set(view.codec, { histogram, accumulator: heap.allocate(this.headDim * 16) });
    }
    if (this.factors.length < this.items.length * 4) this.factors = new Float64Array(this.items.length * 8);
  }

  private ensureItemTables(items: number, slots: number): void {
    const heap = this.kernels.heap;
    const grow = (pointer: number, capacity: number, needed: number, wordsEach: number): [number, number] => {
      if (needed <= capacity) return [pointer, capacity];
      if (capacity > 0) heap.free(pointer);
      const grown = Math.max(needed, capacity * 2, 16);
      return [heap.allocate(grown * wordsEach * 4), grown];
    };
    [this.itemTable, this.itemCapacity] = grow(this.itemTable, this.itemCapacity, items, this.layout.itemWords);
    [this.slotTable, this.slotCapacity] = grow(this.slotTable, this.slotCapacity, slots, this.layout.slotWords);
  }

  /** The residual window's rows of every KV head (kvHeads × stride rows). */
  private ensureResidual(rows: number): void {
    if (rows <= this.residualCapacity) return;
    const heap = this.kernels.heap;
    if (this.residualCapacity > 0) {
      heap.free(this.residualKeys);
      heap.free(this.residualValues);
      heap.free(this.residualLive);
    }
    this.residualCapacity = rows;
    this.epoch++;
    this.residualKeys = heap.allocate(rows * this.headDim * 4);
    this.residualValues = heap.allocate(rows * this.headDim * 4);
    this.residualLive = heap.allocate(rows);
  }

  private uploadCodewords(view: TableCodecView): void {
    if (this.codewordPointers.has(view.codec)) return;
    const pointer = this.kernels.heap.allocate(view.codewords.byteLength);
    this.kernels.heap.float32(pointer, view.codewords.length).set(view.codewords);
    this.codewordPointers.set(view.codec, pointer);
  }
}
