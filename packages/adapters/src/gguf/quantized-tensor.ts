import { dequantizeGgml } from "./ggml-dequantize.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { GgmlType, type GgmlTypeName, ggmlTypeLayout } from "./gguf-types.js";

/**
 * A tensor as stored in a GGUF file: its ggml type, its shape and its blocks as a view into the file's
 * bytes (no copy, no fp32 expansion), for kernels that compute on the blocks directly. `dequantize()`
 * gives fp32 values where a caller wants them.
 */
export class QuantizedTensor {
  constructor(
    readonly name: string,
    readonly type: GgmlTypeName,
    /** Row-major shape, outermost first: a matrix of `rows` rows of `columns` values is [rows, columns] (ggml dims reversed). */
    readonly shape: readonly number[],
    /** The tensor's blocks, a view into the file bytes. */
    readonly blocks: Uint8Array,
  ) {}

  get elementCount(): number {
    return this.shape.reduce((product, size) => product * size, 1);
  }

  /**
   * Rows [first, first + count) of a matrix, as a view of the same blocks (Phi-3's fused attn_qkv and
   * ffn_up split into q/k/v and gate/up). Rows must be whole blocks.
   */
  rows(first: number, count: number): QuantizedTensor {
    const layout = ggmlTypeLayout[GgmlType[this.type]];
    const [rows, columns] = this.shape;
    if (this.shape.length !== 2 || columns % layout.blockSize !== 0 || first < 0 || first + count > rows) {
      throw new ModelFormatError("gguf", "bad-shape", `GGUF tensor ${this.name} [${this.shape.join(", ")}] (${this.type}) cannot be split at rows ${first}…${first + count} into whole blocks`);
    }
    const rowBytes = (columns / layout.blockSize) * layout.blockBytes;
    return new QuantizedTensor(this.name, this.type, [count, columns], this.blocks.subarray(first * rowBytes, (first + count) * rowBytes));
  }

  /** The values as fp32 (llama.cpp's dequantize_row_* formulas); F32 tensors come back as a view when aligned. */
  dequantize(out?: Float32Array): Float32Array {
    return dequantizeGgml(GgmlType[this.type], this.blocks, 0, this.elementCount, out);
  }
}
