/**
 * Weight-only 8-bit quantization in the form onnxruntime's quantizers write for MatMul weights in
 * QDQ models (quantize_static / quantize_dynamic with per_channel): an INT8 or UINT8 initializer
 * holding Wᵀ [in, out], one float scale and one zero point per output channel (axis 1), read through
 * DequantizeLinear (y = (q − zero) · scale) into a float MatMul. transformers.js names such files
 * `model_quantized.onnx` (dtype "q8"), `model_int8.onnx` and `model_uint8.onnx`.
 *
 * - "int8": symmetric, zero point 0, scale = max|w| / 127, q ∈ [−127, 127] (onnxruntime's
 *   symmetric QInt8 weights, the restricted range that keeps −q representable).
 * - "uint8": asymmetric, the range [min(w, 0), max(w, 0)] mapped onto [0, 255]: scale =
 *   (max − min) / 255, zero = round(−min / scale) (onnxruntime's compute_scale_zp for QUInt8).
 */
export type Int8WeightType = "int8" | "uint8";

export interface DequantizeLinearWeight {
  readonly type: Int8WeightType;
  readonly outFeatures: number;
  readonly inFeatures: number;
  /** Wᵀ quantized, [in, out] row-major: MatMul's B after DequantizeLinear. */
  readonly quantized: Int8Array | Uint8Array;
  /** x_scale, one per output channel [out]. */
  readonly scales: Float32Array;
  /** x_zero_point, one per output channel [out], the element type of `quantized`. */
  readonly zeroPoints: Int8Array | Uint8Array;
  /** (q − zero) · scale in the [out, in] layout of the input, for reference computations. */
  readonly dequantized: Float32Array;
}

/** Quantizes a weight stored [out, in] (llama2.c layout) per output channel, round to nearest. */
export function quantizeDequantizeLinear(weight: Float32Array, outFeatures: number, inFeatures: number, type: Int8WeightType): DequantizeLinearWeight {
  if (weight.length !== outFeatures * inFeatures) throw new RangeError(`DequantizeLinear weight: ${weight.length} values, expected ${outFeatures} × ${inFeatures}`);
  const signed = type === "int8";
  const [lowest, highest] = signed ? [-127, 127] : [0, 255];
  const quantized = signed ? new Int8Array(weight.length) : new Uint8Array(weight.length);
  const zeroPoints = signed ? new Int8Array(outFeatures) : new Uint8Array(outFeatures);
  const scales = new Float32Array(outFeatures);
  const dequantized = new Float32Array(weight.length);
  for (let row = 0; row < outFeatures; row++) {
    let minimum = 0;
    let maximum = 0;
    for (let k = 0; k < inFeatures; k++) {
      const value = weight[row * inFeatures + k];
      minimum = Math.min(minimum, value);
      maximum = Math.max(maximum, value);
    }
    const scale = Math.fround(signed ? Math.max(maximum, -minimum) / 127 : (maximum - minimum) / 255);
    const zero = signed || scale === 0 ? 0 : Math.min(255, Math.max(0, Math.round(-minimum / scale)));
    scales[row] = scale;
    zeroPoints[row] = zero;
    for (let k = 0; k < inFeatures; k++) {
      const value = weight[row * inFeatures + k];
      const q = scale === 0 ? zero : Math.min(highest, Math.max(lowest, Math.round(value / scale) + zero));
      quantized[k * outFeatures + row] = q;
      dequantized[row * inFeatures + k] = Math.fround((q - zero) * scale);
    }
  }
  return { type, outFeatures, inFeatures, quantized, scales, zeroPoints, dequantized };
}
