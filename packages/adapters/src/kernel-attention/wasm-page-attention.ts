import type { AttendedPage, AttentionBackend, LayerAttentionRequest } from "@kvpack/cache";
import type { Codec, KernelCodecView, TableCodecView } from "@kvpack/codecs";
// Types only: createWasmPageAttention (create-wasm-page-attention.ts) loads the module.
import type { PagedAttentionKernels } from "@kvpack/kernels";
import { ResidentPages, type ResidentSegment } from "./resident-pages.js";

/** Query lanes and score tables of one key codec for the current lane group. */
interface KeyScratch {
  readonly view: TableCodecView;
  /** headDim × f32x4: the group's queries rotated into the codec's domain and scaled. */
  readonly queries: number;
  readonly blockTable: number;
  readonly byteTable: number;
  /** The lane group the tables were last built for. */
  builtFor: number;
  /** Whether they were the block table alone (code-level scoring) or the byte table too. */
  codeLevel: boolean;
}

/** Histogram and accumulator of one table value codec. */
interface ValueScratch {
  readonly view: TableCodecView;
  /** rowBytes × 256 f32x4, kept zeroed between lane groups (tableExpand clears what it reads). */
  readonly histogram: number;
  /** headDim × f32x4 in the codec's rotated domain. */
  readonly accumulator: number;
  usedBy: number;
  /** Whether the lane group `usedBy` fills the histogram per code (tableCodeHistogramRows) or per byte. */
  codeLevel: boolean;
}

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
}

/**
 * The cache's attention on the WASM SIMD paged-attention kernels (@kvpack/kernels
 * createPagedAttentionKernels). Pages stay resident in the kernels' heap (ResidentPages: uploaded
 * once per page id and revision, freed on release), so a decoding step uploads only the residual
 * window. Per KV head, up to 4 of its query heads ride in the lanes of every f32x4 (GQA), so each
 * row is read once per lane group. Every row's score (pages in order, then the residual window)
 * lands in one buffer, one softmax pass gives the group's max and Σ exp (no merge across pages
 * needed), then values accumulate page by page into one histogram per table codec (expanded through
 * the codewords once) and one fp32 accumulator for dense pages and the residual window.
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
  private readonly pages: ResidentPages;
  private readonly keyScratch = new Map<Codec, KeyScratch>();
  private readonly valueScratch = new Map<Codec, ValueScratch>();
  /** The scratch used last (pages of one codec follow each other): skips the map lookups. */
  private lastKeyScratch: KeyScratch | undefined;
  private lastValueScratch: ValueScratch | undefined;
  private headDim = 0;
  private denseQueries = 0;
  private denseAccumulator = 0;
  /** [max × 4 | Σ exp × 4]. */
  private softmaxResult = 0;
  private scores = 0;
  private scoreRows = 0;
  private residualKeys = 0;
  private residualValues = 0;
  private residualLive = 0;
  private residualRows = 0;
  private laneGroup = 0;
  /** Per KV head, the resident segments of each of its pages in this call (undefined: offloaded). */
  private readonly residentByHead: Array<Array<readonly ResidentSegment[] | undefined>> = [];
  /** Per KV head, the resident page rows of this call (the residual window not counted). */
  private readonly pageRowsByHead: number[] = [];
  private readonly rotated: Float32Array[] = [];
  private finishScratch = new Float32Array(0);
  private laneScratch = new Float32Array(0);

  private readonly tables: "auto" | "bytes" | "codes";

  constructor(kernels: PagedAttentionKernels, options: WasmPageAttentionOptions = {}) {
    this.kernels = kernels;
    this.tables = options.tables ?? "auto";
    this.pages = new ResidentPages(kernels.heap);
    this.softmaxResult = kernels.heap.allocate(32);
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
    // Allocation phase: every page resident, every scratch buffer sized. Nothing after it allocates,
    // so heap views taken below stay valid for the whole call.
    this.ensureHeadDim(headDim);
    let maximumRows = 0;
    const residentByHead = this.residentByHead;
    while (residentByHead.length < kvHeads) residentByHead.push([]);
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      const pages = request.pages[kvHead];
      const resident = residentByHead[kvHead];
      resident.length = pages.length;
      let rows = residual.count;
      for (let p = 0; p < pages.length; p++) {
        const page = pages[p];
        if (page.location === "offloaded") {
          this.pages.release(page.id);
          resident[p] = undefined;
          continue;
        }
        let segments = this.pages.current(page);
        if (segments === undefined) {
          segments = this.pages.refresh(page);
          if (segments === undefined) return false;
          for (const segment of segments) this.ensureScratch(segment.keyView, segment.valueView);
        }
        resident[p] = segments;
        for (let s = 0; s < segments.length; s++) rows += segments[s].count;
      }
      this.pageRowsByHead[kvHead] = rows - residual.count;
      maximumRows = Math.max(maximumRows, rows);
    }
    this.ensureRows(maximumRows, residual.stride);
    const groupSize = heads / kvHeads;
    for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
      for (let first = 0; first < groupSize; first += 4) {
        this.attendGroup(request, kvHead, kvHead * groupSize + first, Math.min(4, groupSize - first));
      }
    }
    return true;
  }

  /** Attention of query heads firstHead … firstHead + laneCount − 1 (one KV head's) in the f32x4 lanes. */
  private attendGroup(request: LayerAttentionRequest, kvHead: number, firstHead: number, laneCount: number): void {
    const { kernels } = this;
    const { headDim, queries, scale, residual, out, weightsOut, length } = request;
    const group = ++this.laneGroup;
    const memory = kernels.heap.memory.buffer;
    const f32 = new Float32Array(memory);
    const u8 = new Uint8Array(memory);
    const pages = request.pages[kvHead];

    // Dense lanes: scaled queries as they are (fp32/fp16 keys and the residual window).
    const denseBase = this.denseQueries >> 2;
    f32.fill(0, denseBase, denseBase + headDim * 4);
    for (let lane = 0; lane < laneCount; lane++) {
      const query = (firstHead + lane) * headDim;
      for (let i = 0; i < headDim; i++) f32[denseBase + i * 4 + lane] = queries[query + i] * scale;
    }

    // Scores of every row in order: pages, then the residual window.
    const segmentsOf = this.residentByHead[kvHead];
    const pageRows = this.pageRowsByHead[kvHead];
    let row = 0;
    for (let p = 0; p < pages.length; p++) {
      const segments = segmentsOf[p];
      if (segments === undefined) continue;
      for (const segment of segments) {
        const target = this.scores + row * 16;
        if (segment.keyView.kind === "table") {
          const scratch = this.keyTables(segment.keyView, group, request, firstHead, laneCount, f32, pageRows);
          const { view } = scratch;
          if (scratch.codeLevel) {
            kernels.tableScoreCodeRows(scratch.queries, headDim, scratch.blockTable, segment.keys, view.rowBytes, view.bitWidth, view.codesPerRow, view.radix, segment.keyNorms, segment.keyMean, segment.live, segment.count, target);
          } else {
            kernels.tableScoreRows(scratch.queries, headDim, scratch.byteTable, segment.keys, view.rowBytes, segment.keyNorms, segment.keyMean, segment.live, segment.count, target);
          }
        } else {
          const score = segment.keyHalf ? kernels.denseScoresHalf : kernels.denseScores;
          score(this.denseQueries, headDim, segment.keys, segment.live, segment.count, target);
        }
        row += segment.count;
      }
    }
    const residualFirstRow = row;
    if (residual.count > 0) {
      const base = (kvHead * residual.stride) * headDim;
      const floats = residual.count * headDim;
      f32.set(residual.keys.subarray(base, base + floats), this.residualKeys >> 2);
      f32.set(residual.values.subarray(base, base + floats), this.residualValues >> 2);
      u8.set(residual.live.subarray(kvHead * residual.stride, kvHead * residual.stride + residual.count), this.residualLive);
      kernels.denseScores(this.denseQueries, headDim, this.residualKeys, this.residualLive, residual.count, this.scores + row * 16);
      row += residual.count;
    }
    const rows = row;
    kernels.softmaxPartial(this.scores, rows, this.softmaxResult);

    // Values: weights are exp(score − max), normalized at the end.
    const denseAccumulator = this.denseAccumulator;
    f32.fill(0, denseAccumulator >> 2, (denseAccumulator >> 2) + headDim * 4);
    row = 0;
    for (let p = 0; p < pages.length; p++) {
      const segments = segmentsOf[p];
      if (segments === undefined) continue;
      for (const segment of segments) {
        const weights = this.scores + row * 16;
        if (segment.valueView.kind === "table") {
          const scratch = this.valueSums(segment.valueView, group, f32, pageRows);
          const { view } = scratch;
          if (scratch.codeLevel) {
            kernels.tableCodeHistogramRows(weights, headDim, segment.values, view.rowBytes, view.bitWidth, view.codesPerRow, view.radix, segment.valueNorms, segment.valueMean, segment.count, scratch.histogram, scratch.accumulator);
          } else {
            kernels.tableHistogramRows(weights, headDim, segment.values, view.rowBytes, segment.valueNorms, segment.valueMean, segment.count, scratch.histogram, scratch.accumulator);
          }
        } else {
          const accumulate = segment.valueHalf ? kernels.denseAccumulateRowsHalf : kernels.denseAccumulateRows;
          accumulate(weights, headDim, segment.values, segment.count, denseAccumulator);
        }
        row += segment.count;
      }
    }
    if (residual.count > 0) kernels.denseAccumulateRows(this.scores + residualFirstRow * 16, headDim, this.residualValues, residual.count, denseAccumulator);

    // Finish: expand each table codec's histogram, rotate back per head, add the dense part, normalize.
    const resultBase = this.softmaxResult >> 2;
    for (let lane = 0; lane < laneCount; lane++) out.fill(0, (firstHead + lane) * headDim, (firstHead + lane + 1) * headDim);
    const lanes = this.laneScratch;
    for (const scratch of this.valueScratch.values()) {
      if (scratch.usedBy !== group) continue;
      const { view } = scratch;
      if (scratch.codeLevel) kernels.tableCodeExpand(scratch.histogram, view.codesPerRow, view.blockSize, view.radix, this.codewords(view), scratch.accumulator);
      else kernels.tableExpand(scratch.histogram, view.rowBytes, view.bitWidth, view.codesPerRow, view.blockSize, view.radix, this.codewords(view), scratch.accumulator);
      const base = scratch.accumulator >> 2;
      for (let lane = 0; lane < laneCount; lane++) {
        for (let i = 0; i < headDim; i++) lanes[i] = f32[base + i * 4 + lane];
        const finished = view.finish(lanes, this.finishScratch);
        const target = (firstHead + lane) * headDim;
        for (let i = 0; i < headDim; i++) out[target + i] += finished[i];
      }
    }
    const denseBaseOut = denseAccumulator >> 2;
    for (let lane = 0; lane < laneCount; lane++) {
      const sum = f32[resultBase + 4 + lane];
      const inverse = sum > 0 ? 1 / sum : 0;
      const target = (firstHead + lane) * headDim;
      for (let i = 0; i < headDim; i++) out[target + i] = (out[target + i] + f32[denseBaseOut + i * 4 + lane]) * inverse;
    }

    if (weightsOut !== undefined) this.writeWeights(weightsOut, length, pages, segmentsOf, residual.start, residual.count, residualFirstRow, firstHead, laneCount, f32);
  }

  /** weightsOut[head · length + position] = weight / Σ for every row of the pages and the residual window. */
  private writeWeights(
    weightsOut: Float32Array,
    length: number,
    pages: readonly AttendedPage[],
    segmentsOf: ReadonlyArray<readonly ResidentSegment[] | undefined>,
    residualStart: number,
    residualCount: number,
    residualFirstRow: number,
    firstHead: number,
    laneCount: number,
    f32: Float32Array,
  ): void {
    const scoresBase = this.scores >> 2;
    const resultBase = this.softmaxResult >> 2;
    for (let lane = 0; lane < laneCount; lane++) {
      const sum = f32[resultBase + 4 + lane];
      const inverse = sum > 0 ? 1 / sum : 0;
      const headBase = (firstHead + lane) * length;
      let row = 0;
      for (let p = 0; p < pages.length; p++) {
        const segments = segmentsOf[p];
        if (segments === undefined) continue;
        const attended = pages[p].segments;
        for (let s = 0; s < segments.length; s++) {
          const { start, explicitPositions } = attended[s];
          const count = segments[s].count;
          for (let i = 0; i < count; i++) {
            const position = explicitPositions === undefined ? start + i : explicitPositions[i];
            weightsOut[headBase + position] = f32[scoresBase + (row + i) * 4 + lane] * inverse;
          }
          row += count;
        }
      }
      for (let r = 0; r < residualCount; r++) weightsOut[headBase + residualStart + r] = f32[scoresBase + (residualFirstRow + r) * 4 + lane] * inverse;
    }
  }

  /** The key codec's query lanes and score tables for this lane group (`rows` page rows), built on first use. */
  private keyTables(view: TableCodecView, group: number, request: LayerAttentionRequest, firstHead: number, laneCount: number, f32: Float32Array, rows: number): KeyScratch {
    const last = this.lastKeyScratch;
    if (last !== undefined && last.view === view && last.builtFor === group) return last;
    const scratch = this.keyScratch.get(view.codec) as KeyScratch;
    this.lastKeyScratch = scratch;
    if (scratch.builtFor === group) return scratch;
    scratch.builtFor = group;
    scratch.codeLevel = this.codeLevel(view, rows);
    const { headDim, queries, scale } = request;
    const base = scratch.queries >> 2;
    f32.fill(0, base, base + headDim * 4);
    const rotated = this.rotated[0];
    for (let lane = 0; lane < laneCount; lane++) {
      const query = queries.subarray((firstHead + lane) * headDim, (firstHead + lane + 1) * headDim);
      view.rotate(query, rotated);
      for (let i = 0; i < headDim; i++) f32[base + i * 4 + lane] = rotated[i] * scale;
    }
    if (scratch.codeLevel) this.kernels.tableBlockTable(scratch.queries, this.codewords(view), view.codesPerRow, view.blockSize, view.radix, scratch.blockTable);
    else this.kernels.tableScoreTables(scratch.queries, this.codewords(view), view.rowBytes, view.bitWidth, view.codesPerRow, view.blockSize, view.radix, scratch.blockTable, scratch.byteTable);
    return scratch;
  }

  /** The value codec's histogram and accumulator for this lane group, the accumulator cleared on first use. */
  private valueSums(view: TableCodecView, group: number, f32: Float32Array, rows: number): ValueScratch {
    const last = this.lastValueScratch;
    if (last !== undefined && last.view === view && last.usedBy === group) return last;
    const scratch = this.valueScratch.get(view.codec) as ValueScratch;
    this.lastValueScratch = scratch;
    if (scratch.usedBy !== group) {
      scratch.usedBy = group;
      // The histogram buffer (rowBytes × 256 bins) holds the code-level one too (blocks × size ≤ that); either expand clears what it used.
      scratch.codeLevel = this.codeLevel(view, rows);
      f32.fill(0, scratch.accumulator >> 2, (scratch.accumulator >> 2) + this.headDim * 4);
    }
    return scratch;
  }

  private codeLevel(view: TableCodecView, rows: number): boolean {
    return this.tables === "auto" ? prefersCodeLevelTables(view, rows) : this.tables === "codes";
  }

  private readonly codewordPointers = new Map<Codec, number>();

  private codewords(view: TableCodecView): number {
    return this.codewordPointers.get(view.codec) as number;
  }

  private ensureHeadDim(headDim: number): void {
    if (this.headDim === headDim) return;
    if (this.headDim !== 0) throw new Error(`WasmPageAttention serves one head dimension (${this.headDim}), got ${headDim}`);
    const heap = this.kernels.heap;
    this.headDim = headDim;
    this.denseQueries = heap.allocate(headDim * 16);
    this.denseAccumulator = heap.allocate(headDim * 16);
    this.rotated.push(new Float32Array(headDim));
    this.finishScratch = new Float32Array(headDim);
    this.laneScratch = new Float32Array(headDim);
  }

  private ensureScratch(keyView: KernelCodecView, valueView: KernelCodecView): void {
    const heap = this.kernels.heap;
    if (keyView.kind === "table" && !this.keyScratch.has(keyView.codec)) {
      this.uploadCodewords(keyView);
      this.keyScratch.set(keyView.codec, {
        view: keyView,
        queries: heap.allocate(this.headDim * 16),
        blockTable: heap.allocate(keyView.codesPerRow * keyView.radix * 16),
        byteTable: heap.allocate(keyView.rowBytes * 4096),
        builtFor: 0,
        codeLevel: false,
      });
    }
    if (valueView.kind === "table" && !this.valueScratch.has(valueView.codec)) {
      this.uploadCodewords(valueView);
      const histogram = heap.allocate(valueView.rowBytes * 4096);
      heap.uint8(histogram, valueView.rowBytes * 4096).fill(0);
      this.valueScratch.set(valueView.codec, { view: valueView, histogram, accumulator: heap.allocate(this.headDim * 16), usedBy: 0, codeLevel: false });
    }
  }

  private uploadCodewords(view: TableCodecView): void {
    if (this.codewordPointers.has(view.codec)) return;
    const pointer = this.kernels.heap.allocate(view.codewords.byteLength);
    this.kernels.heap.float32(pointer, view.codewords.length).set(view.codewords);
    this.codewordPointers.set(view.codec, pointer);
  }

  /** Score rows for the longest KV head, and the residual window's rows. */
  private ensureRows(rows: number, residualRows: number): void {
    const heap = this.kernels.heap;
    if (rows > this.scoreRows) {
      if (this.scoreRows > 0) heap.free(this.scores);
      this.scoreRows = Math.max(rows, this.scoreRows * 2, 64);
      this.scores = heap.allocate(this.scoreRows * 16);
    }
    if (residualRows > this.residualRows) {
      if (this.residualRows > 0) {
        heap.free(this.residualKeys);
        heap.free(this.residualValues);
        heap.free(this.residualLive);
      }
      this.residualRows = residualRows;
      this.residualKeys = heap.allocate(residualRows * this.headDim * 4);
      this.residualValues = heap.allocate(residualRows * this.headDim * 4);
      this.residualLive = heap.allocate(residualRows);
    }
  }
}
