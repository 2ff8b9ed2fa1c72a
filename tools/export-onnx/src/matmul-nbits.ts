/**
 * Block quantization of a weight matrix for ONNX Runtime's MatMulNBits contrib operator
 * (com.microsoft, the int4 / int8 weight format of transformers.js `model_q4.onnx` exports):
 * each output row n is cut into blocks of `blockSize` input features (the last one zero-padded),
 * each block has one float scale and the default zero point 2^(bits−1), and weight ≈ (q − zero) · scale.
 * For 4 bits two values share a byte, the even index in the low nibble.
 */
export interface MatMulNBitsWeight {
  readonly bits: 4 | 8;
  readonly blockSize: number;
  /** N = output features, K = input features. */
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** B: uint8 [N, blocksPerRow, blockSize · bits / 8]. */
  readonly packed: Uint8Array;
  /** scales: float [N · blocksPerRow]. */
  readonly scales: Float32Array;
  /** (q − zero) · scale in the [out, in] layout of the input, for reference computations. */
  readonly dequantized: Float32Array;
}

/** Symmetric round-to-nearest: scale = max|w| / (2^(bits−1) − 1) per block, q clamped to [0, 2^bits − 1]. */
export function quantizeMatMulNBits(weight: Float32Array, outFeatures: number, inFeatures: number, bits: 4 | 8, blockSize: number): MatMulNBitsWeight {
  if (!(blockSize >= 16 && (blockSize & (blockSize - 1)) === 0)) throw new RangeError(`MatMulNBits: blockSize must be a power of two ≥ 16, got ${blockSize}`);
  if (weight.length !== outFeatures * inFeatures) throw new RangeError(`MatMulNBits: weight has ${weight.length} values, expected ${outFeatures} × ${inFeatures}`);
  const blocks = Math.ceil(inFeatures / blockSize);
  const blobSize = (blockSize * bits) / 8;
  const zero = 1 << (bits - 1);
  const largest = (1 << bits) - 1;
  const packed = new Uint8Array(outFeatures * blocks * blobSize);
  const scales = new Float32Array(outFeatures * blocks);
  const dequantized = new Float32Array(weight.length);
  for (let row = 0; row < outFeatures; row++) {
    for (let block = 0; block < blocks; block++) {
      const begin = block * blockSize;
      const end = Math.min(begin + blockSize, inFeatures);
      let maximum = 0;
      for (let k = begin; k < end; k++) maximum = Math.max(maximum, Math.abs(weight[row * inFeatures + k]));
      const scale = Math.fround(maximum / (zero - 1));
      scales[row * blocks + block] = scale;
      const blob = (row * blocks + block) * blobSize;
      for (let k = begin; k < begin + blockSize; k++) {
        const value = k < end ? weight[row * inFeatures + k] : 0;
        const q = scale === 0 ? zero : Math.min(largest, Math.max(0, Math.round(value / scale) + zero));
        if (k < end) dequantized[row * inFeatures + k] = Math.fround((q - zero) * scale);
        const index = k - begin;
        if (bits === 8) packed[blob + index] = q;
        else packed[blob + (index >> 1)] |= (index & 1) === 0 ? q : q << 4;
      }
    }
  }
  return { bits, blockSize, outFeatures, inFeatures, packed, scales, dequantized };
}
