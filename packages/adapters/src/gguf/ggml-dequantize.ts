import { decodeBfloat16, decodeFloat16 } from "../model/half-float.js";
import { float32View } from "../model/bytes.js";
import { ggmlBlockCodecs } from "./ggml-block-codecs.js";
import { GgmlType, ggmlTypeLayout } from "./gguf-types.js";

/**
 * Dequantizes `count` elements of ggml type `type` stored at `offset` of `bytes` to fp32 (ggml's
 * dequantize_row_* formulas). F32 data is returned as a view when aligned, not copied.
 */
export function dequantizeGgml(type: number, bytes: Uint8Array, offset: number, count: number, out?: Float32Array): Float32Array {
  switch (type) {
    case GgmlType.F32:
      if (out) {
        out.set(float32View(bytes, offset, count));
        return out;
      }
      return float32View(bytes, offset, count);
    case GgmlType.F16:
      return decodeFloat16(bytes, offset, count, out ?? new Float32Array(count));
    case GgmlType.BF16:
      return decodeBfloat16(bytes, offset, count, out ?? new Float32Array(count));
  }
  const layout = ggmlTypeLayout[type];
  const codec = layout && ggmlBlockCodecs[layout.name];
  if (!codec) throw new RangeError(`dequantizeGgml: unsupported ggml type ${type}`);
  if (count % codec.blockSize !== 0) throw new RangeError(`dequantizeGgml: ${count} values are not a whole number of ${layout.name} blocks of ${codec.blockSize}`);
  const target = out ?? new Float32Array(count);
  codec.dequantize(bytes, offset, count, target, 0);
  return target;
}
