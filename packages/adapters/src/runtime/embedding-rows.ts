import { dequantizeGgml } from "../gguf/ggml-dequantize.js";
import { GgmlType, ggmlTypeLayout } from "../gguf/gguf-types.js";
import type { QuantizedTensor } from "../gguf/quantized-tensor.js";

/** Writes token `token`'s embedding row (`out.length` = dim floats) into `out`. */
export type EmbeddingRows = (token: number, out: Float32Array) => void;

/** Rows of an fp32 [vocabSize, dim] embedding; `embedding` is read on first use (a lazily loaded matrix stays unexpanded until then). */
export function floatEmbeddingRows(embedding: () => Float32Array, dim: number): EmbeddingRows {
  let values: Float32Array | undefined;
  return (token, out) => {
    values ??= embedding();
    out.set(values.subarray(token * dim, (token + 1) * dim));
  };
}

/**
 * Rows of a token_embd tensor kept in its file encoding, as llama.cpp's get_rows does: only the
 * blocks covering the token's row are dequantized per lookup, so a vocabulary of 49,152 × 576 costs
 * its Q8_0 bytes (30 MB) instead of 113 MB of fp32. The blocks are copied once, so the file's
 * buffer is not kept alive by them. A row that is not whole blocks (kvpack's writer packs e.g. 172-wide rows back to back, as ggml does within a tensor) starts inside a block.
 */
export function blockEmbeddingRows(tensor: QuantizedTensor, dim: number): EmbeddingRows {
  const type = GgmlType[tensor.type];
  const { blockSize, blockBytes } = ggmlTypeLayout[type];
  const blocks = tensor.ownBlocks();
  const scratch = new Float32Array(Math.ceil(dim / blockSize + 1) * blockSize);
  return (token, out) => {
    const firstValue = token * dim;
    const firstBlock = Math.floor(firstValue / blockSize);
    const endBlock = Math.ceil((firstValue + dim) / blockSize);
    const values = scratch.subarray(0, (endBlock - firstBlock) * blockSize);
    dequantizeGgml(type, blocks, firstBlock * blockBytes, values.length, values);
    const skip = firstValue - firstBlock * blockSize;
    out.set(values.subarray(skip, skip + dim));
  };
}
