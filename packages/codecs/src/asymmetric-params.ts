import { readUint16, writeUint16 } from "./byte-io.js";
import { CodecError } from "./codec-error.js";
import { fromHalfBits, maxHalf, toHalfBits } from "./half-float.js";

/**
 * Asymmetric uniform quantizer parameters (KIVI, QuaRot): scale = (max − min)/(levels − 1), zero = min,
 * both stored as fp16 (4 bytes) at data[offset]. Quantization uses the stored (rounded) values, so
 * decode reproduces exactly what the encoder assumed.
 */
export function writeAsymmetricParams(data: Uint8Array, offset: number, minimum: number, maximum: number, levels: number, what: string): void {
  const scale = (maximum - minimum) / (levels - 1);
  if (scale > maxHalf || Math.abs(minimum) > maxHalf) {
    throw new CodecError("out-of-range", `${what}: range [${minimum}, ${maximum}] does not fit fp16 scale/zero`);
  }
  writeUint16(data, offset, toHalfBits(scale));
  writeUint16(data, offset + 2, toHalfBits(minimum));
}

export function readScale(data: Uint8Array, offset: number): number {
  return fromHalfBits(readUint16(data, offset));
}

export function readZero(data: Uint8Array, offset: number): number {
  return fromHalfBits(readUint16(data, offset + 2));
}

/** Code in [0, levels) for value under (scale, zero); scale 0 maps everything to code 0. */
export function quantizeAsymmetric(value: number, scale: number, zero: number, levels: number): number {
  if (!(scale > 0)) return 0;
  const code = Math.round((value - zero) / scale);
  return code < 0 ? 0 : code >= levels ? levels - 1 : code;
}
