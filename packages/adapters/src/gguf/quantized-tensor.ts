import { dequantizeGgml } from "./ggml-dequantize.js";
import { GgmlType, type GgmlTypeName } from "./gguf-types.js";

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

  /** The values as fp32 (llama.cpp's dequantize_row_* formulas); F32 tensors come back as a view when aligned. */
  dequantize(out?: Float32Array): Float32Array {
    return dequantizeGgml(GgmlType[this.type], this.blocks, 0, this.elementCount, out);
  }
}
