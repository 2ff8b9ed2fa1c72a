import type { AttendedPage } from "@kvpack/cache";
import { type EncodedBlock, kernelCodecView, type KernelCodecView } from "@kvpack/codecs";
// Types only: the heap comes with the kernels the caller instantiated.
import type { WasmHeap } from "@kvpack/kernels";

/** One segment's rows as the kernels read them: byte offsets into the heap (0 = none). */
export interface ResidentSegment {
  readonly count: number;
  readonly keyView: KernelCodecView;
  readonly valueView: KernelCodecView;
  /** Table keys: codes (count × rowBytes); dense keys: fp32 rows (count × headDim), or fp16 bits when keyHalf. */
  readonly keys: number;
  /** Dense rows kept as the fp16 codec's half bits (half the bytes of widened fp32 rows). */
  readonly keyHalf: boolean;
  readonly valueHalf: boolean;
  readonly keyNorms: number;
  readonly keyMean: number;
  readonly values: number;
  readonly valueNorms: number;
  readonly valueMean: number;
  /** count bytes, 1 = attended. */
  readonly live: number;
}

interface ResidentPage {
  readonly revision: number;
  /** The one heap block holding every segment's rows, and its size. */
  readonly pointer: number;
  readonly bytes: number;
  readonly segments: readonly ResidentSegment[];
}

const alignment = 16;

/** fp16 codec rows stay 2 bytes resident (the kernels widen them exactly); fp32 rows stay fp32. */
function keepsHalves(view: KernelCodecView): boolean {
  return view.kind === "dense" && view.halfBits !== undefined && view.dimension % 4 === 0;
}

/** A dense segment's rows as the kernels keep them: the fp16 codec's bits as stored, else fp32 rows. */
function denseRows(view: KernelCodecView & { kind: "dense" }, block: EncodedBlock): Uint16Array | Float32Array {
  return keepsHalves(view) ? view.halfBits!(block) : view.rows(block);
}

function aligned(bytes: number): number {
  return Math.ceil(bytes / alignment) * alignment;
}

/**
 * Each page's encoded rows resident in a WASM heap, keyed by page id: uploaded the first time a page
 * is attended (one heap block per page), kept while its revision stays the same, re-uploaded when it
 * changes (drop, recall), freed when the page is released or offloaded. Decoding steps upload
 * nothing but pages flushed since the last step. A cache dropped without emptying it (a server
 * request that ends) never releases its pages: once its page objects are garbage-collected, a
 * FinalizationRegistry frees their rows (nothing here holds a page object).
 */
export class ResidentPages {
  private readonly pages = new Map<number, ResidentPage>();
  private residentBytes = 0;
  private readonly collected = new FinalizationRegistry<{ readonly id: number; readonly resident: WeakRef<ResidentPage> }>((held) => {
    const resident = held.resident.deref();
    if (resident !== undefined && this.pages.get(held.id) === resident) this.release(held.id);
  });

  constructor(private readonly heap: WasmHeap) {}

  /** Bytes of heap held by resident pages. */
  get byteLength(): number {
    return this.residentBytes;
  }

  /** Pages uploaded so far (first use or a changed revision). */
  uploads = 0;

  get pageCount(): number {
    return this.pages.size;
  }

  /**
   * The page's resident segments (uploading it when new or changed), or undefined when a segment's
   * codec has no kernel view. May allocate (and so grow the heap): take heap views afterwards.
   */
  resident(page: AttendedPage): readonly ResidentSegment[] | undefined {
    return this.current(page) ?? this.refresh(page);
  }

  /** The page's segments when resident at its current revision (no upload), else undefined. */
  current(page: AttendedPage): readonly ResidentSegment[] | undefined {
    const existing = this.pages.get(page.id);
    return existing !== undefined && existing.revision === page.revision ? existing.segments : undefined;
  }

  /** Uploads the page (again, when its revision changed); undefined when a codec has no kernel view. */
  refresh(page: AttendedPage): readonly ResidentSegment[] | undefined {
    this.release(page.id);
    const views: Array<[KernelCodecView, KernelCodecView]> = [];
    for (const segment of page.segments) {
      const keyView = kernelCodecView(segment.keyCodec);
      const valueView = kernelCodecView(segment.valueCodec);
      if (keyView === undefined || valueView === undefined) return undefined;
      views.push([keyView, valueView]);
    }
    return this.upload(page, views).segments;
  }

  /** Frees the page's rows (a no-op for pages never uploaded). */
  release(pageId: number): void {
    const page = this.pages.get(pageId);
    if (page === undefined) return;
    this.pages.delete(pageId);
    this.collected.unregister(page);
    this.heap.free(page.pointer);
    this.residentBytes -= page.bytes;
  }

  /** Frees every page. */
  clear(): void {
    for (const id of [...this.pages.keys()]) this.release(id);
  }

  private upload(page: AttendedPage, views: ReadonlyArray<[KernelCodecView, KernelCodecView]>): ResidentPage {
    // Encode every part first (no heap views held across the allocation), then copy into one block.
    const parts: Array<Uint8Array | Uint16Array | Float32Array | undefined> = [];
    const layouts: number[][] = [];
    let total = 0;
    const place = (data: Uint8Array | Uint16Array | Float32Array | undefined): number => {
      parts.push(data);
      if (data === undefined) return -1;
      const offset = total;
      total += aligned(data.byteLength);
      return offset;
    };
    page.segments.forEach((segment, index) => {
      const [keyView, valueView] = views[index];
      const offsets: number[] = [];
      if (segment.keys === undefined || segment.values === undefined) throw new Error(`page ${page.id} has no blocks (offloaded pages are never uploaded)`);
      if (keyView.kind === "table") {
        const rows = keyView.rows(segment.keys);
        offsets.push(place(rows.codes), place(rows.norms), place(rows.mean));
      } else {
        offsets.push(place(denseRows(keyView, segment.keys)), place(undefined), place(undefined));
      }
      if (valueView.kind === "table") {
        const rows = valueView.rows(segment.values);
        offsets.push(place(rows.codes), place(rows.norms), place(rows.mean));
      } else {
        offsets.push(place(denseRows(valueView, segment.values)), place(undefined), place(undefined));
      }
      offsets.push(place(segment.live.subarray(0, segment.count)));
      layouts.push(offsets);
    });
    const blockBytes = Math.max(total, alignment);
    const pointer = this.heap.allocate(blockBytes);
    const bytes = this.heap.uint8(pointer, blockBytes);
    let cursor = 0;
    for (const data of parts) {
      if (data === undefined) continue;
      bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), cursor);
      cursor += aligned(data.byteLength);
    }
    const at = (offset: number): number => (offset < 0 ? 0 : pointer + offset);
    const segments = page.segments.map((segment, index): ResidentSegment => {
      const [keys, keyNorms, keyMean, values, valueNorms, valueMean, live] = layouts[index];
      return {
        count: segment.count,
        keyView: views[index][0],
        valueView: views[index][1],
        keyHalf: keepsHalves(views[index][0]),
        valueHalf: keepsHalves(views[index][1]),
        keys: at(keys),
        keyNorms: at(keyNorms),
        keyMean: at(keyMean),
        values: at(values),
        valueNorms: at(valueNorms),
        valueMean: at(valueMean),
        live: at(live),
      };
    });
    const resident: ResidentPage = { revision: page.revision, pointer, bytes: blockBytes, segments };
    this.pages.set(page.id, resident);
    this.collected.register(page, { id: page.id, resident: new WeakRef(resident) }, resident);
    this.residentBytes += blockBytes;
    this.uploads += 1;
    return resident;
  }
}
