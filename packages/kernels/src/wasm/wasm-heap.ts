const pageBytes = 65536;
const alignment = 16;

/**
 * First-fit allocator over WASM linear memory, managed from TypeScript (the AssemblyScript module
 * uses the stub runtime and never allocates). Pointers stay valid when memory grows; typed-array
 * views do not, so always take views after the last allocation of a call.
 */
export class WasmHeap {
  private top: number;
  private readonly sizes = new Map<number, number>();
  /** Free blocks as [start, size], sorted by start. */
  private readonly freeBlocks: Array<[number, number]> = [];

  constructor(
    readonly memory: WebAssembly.Memory,
    base: number,
  ) {
    this.top = Math.ceil(base / alignment) * alignment;
  }

  allocate(byteLength: number): number {
    const size = Math.max(alignment, Math.ceil(byteLength / alignment) * alignment);
    for (let index = 0; index < this.freeBlocks.length; index++) {
      const [start, blockSize] = this.freeBlocks[index];
      if (blockSize < size) continue;
      if (blockSize === size) this.freeBlocks.splice(index, 1);
      else this.freeBlocks[index] = [start + size, blockSize - size];
      this.sizes.set(start, size);
      return start;
    }
    const start = this.top;
    const end = start + size;
    const available = this.memory.buffer.byteLength;
    if (end > available) this.grow(Math.ceil((end - available) / pageBytes), available / pageBytes);
    this.top = end;
    this.sizes.set(start, size);
    return start;
  }

  /**
   * Grows by at least a quarter of the current size (pages never touched cost no resident memory),
   * so a cache uploading page after page grows memory a few dozen times, not once per 64 KiB (each
   * grow is a system call and detaches every view); exactly `needed` when the maximum is near.
   */
  private grow(needed: number, current: number): void {
    const wanted = Math.max(needed, Math.ceil(current / 4));
    if (wanted > needed) {
      try {
        this.memory.grow(wanted);
        return;
      } catch {
        // Over the memory's maximum: take only what this allocation needs (which throws if even that is too much).
      }
    }
    this.memory.grow(needed);
  }

  free(pointer: number): void {
    const size = this.sizes.get(pointer);
    if (size === undefined) return;
    this.sizes.delete(pointer);
    let index = 0;
    while (index < this.freeBlocks.length && this.freeBlocks[index][0] < pointer) index++;
    this.freeBlocks.splice(index, 0, [pointer, size]);
    // Coalesce with the following and the preceding block.
    const next = this.freeBlocks[index + 1];
    if (next && pointer + size === next[0]) {
      this.freeBlocks[index][1] += next[1];
      this.freeBlocks.splice(index + 1, 1);
    }
    const previous = this.freeBlocks[index - 1];
    if (previous && previous[0] + previous[1] === pointer) {
      previous[1] += this.freeBlocks[index][1];
      this.freeBlocks.splice(index, 1);
      index--;
    }
    const last = this.freeBlocks[this.freeBlocks.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.freeBlocks.pop();
    }
  }

  float32(pointer: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, pointer, length);
  }

  uint8(pointer: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, pointer, length);
  }

  uint16(pointer: number, length: number): Uint16Array {
    return new Uint16Array(this.memory.buffer, pointer, length);
  }
}
