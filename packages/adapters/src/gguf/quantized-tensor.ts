import { dequantizeGgml } from "./ggml-dequantize.js";
import { type GgufByteSource, memoryByteSource } from "./gguf-byte-source.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { GgmlType, type GgmlTypeName, ggmlTypeLayout } from "./gguf-types.js";

/** Where a tensor's blocks lie in a byte source. */
export interface TensorByteRange {
  readonly source: GgufByteSource;
  readonly offset: number;
  readonly byteLength: number;
}

/**
 * A tensor as stored in a GGUF file: its ggml type, its shape and its blocks (no fp32 expansion), for
 * kernels that compute on the blocks directly. Over bytes in memory the blocks are a view of them;
 * over a byte source on disk they are read when taken, so a loader copying tensors one by one into
 * backend memory never holds more than one. `dequantize()` gives fp32 values where a caller wants them.
 */
export class QuantizedTensor {
  private readonly range: TensorByteRange;

  constructor(
    readonly name: string,
    readonly type: GgmlTypeName,
    /** Row-major shape, outermost first: a matrix of `rows` rows of `columns` values is [rows, columns] (ggml dims reversed). */
    readonly shape: readonly number[],
    /** The tensor's blocks, or where to read them. */
    blocks: Uint8Array | TensorByteRange,
  ) {
    this.range = blocks instanceof Uint8Array ? { source: memoryByteSource(blocks), offset: 0, byteLength: blocks.byteLength } : blocks;
  }

  /** The blocks: a view of bytes in memory, or a fresh read from the source (take them once per use). */
  get blocks(): Uint8Array {
    return this.range.source.read(this.range.offset, this.range.byteLength);
  }

  get byteLength(): number {
    return this.range.byteLength;
  }

  /** The blocks in an array of their own, which keeps no file buffer alive (a read from a file on disk is one already). */
  ownBlocks(): Uint8Array {
    return this.range.source.readsCopy === true ? this.blocks : this.blocks.slice();
  }

  get elementCount(): number {
    return this.shape.reduce((product, size) => product * size, 1);
  }

  /**
   * Rows [first, first + count) of a matrix, over the same blocks (Phi-3's fused attn_qkv and ffn_up
   * split into q/k/v and gate/up). Rows must be whole blocks.
   */
  rows(first: number, count: number): QuantizedTensor {
    const layout = ggmlTypeLayout[GgmlType[this.type]];
    const [rows, columns] = this.shape;
    if (this.shape.length !== 2 || columns % layout.blockSize !== 0 || first < 0 || first + count > rows) {
      throw new ModelFormatError("gguf", "bad-shape", `GGUF tensor ${this.name} [${this.shape.join(", ")}] (${this.type}) cannot be split at rows ${first}…${first + count} into whole blocks`);
    }
    const rowBytes = (columns / layout.blockSize) * layout.blockBytes;
    return new QuantizedTensor(this.name, this.type, [count, columns], { source: this.range.source, offset: this.range.offset + first * rowBytes, byteLength: count * rowBytes });
  }

  /** The values as fp32 (llama.cpp's dequantize_row_* formulas); F32 tensors come back as a view when aligned. */
  dequantize(out?: Float32Array): Float32Array {
    return dequantizeGgml(GgmlType[this.type], this.blocks, 0, this.elementCount, out);
  }
}
