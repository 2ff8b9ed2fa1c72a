import { asUint8Array, float32View } from "../model/bytes.js";
import { decodeBfloat16, decodeFloat16, numberToBfloat16Bits, numberToFloat16Bits } from "../model/half-float.js";
import { ModelFormatError } from "../model/model-format-error.js";

export type SafetensorsFloatType = "F32" | "F16" | "BF16";

export interface SafetensorsTensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Byte range within the data section (after the header). */
  readonly dataOffsets: readonly [number, number];
}

const bytesPerElement: Record<SafetensorsFloatType, number> = { F32: 4, F16: 2, BF16: 2 };

/**
 * A parsed .safetensors file: an 8-byte little-endian header length, a JSON header
 * {name: {dtype, shape, data_offsets}}, then the raw tensor bytes.
 */
export class SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafetensorsTensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  private readonly data: Uint8Array;
  private readonly dataStart: number;

  constructor(bytes: ArrayBuffer | Uint8Array) {
    const data = asUint8Array(bytes);
    if (data.byteLength < 8) throw new ModelFormatError("safetensors", "truncated", `safetensors file truncated: expected an 8-byte header length, file has ${data.byteLength} bytes`);
    const headerLength = Number(new DataView(data.buffer, data.byteOffset, 8).getBigUint64(0, true));
    if (8 + headerLength > data.byteLength) {
      throw new ModelFormatError("safetensors", "truncated", `safetensors file truncated: expected ${8 + headerLength} bytes for the JSON header, file has ${data.byteLength}`);
    }
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(new TextDecoder().decode(data.subarray(8, 8 + headerLength))) as Record<string, unknown>;
    } catch (error) {
      throw new ModelFormatError("safetensors", "bad-header", `safetensors header is not valid JSON: ${(error as Error).message}`);
    }
    this.data = data;
    this.dataStart = 8 + headerLength;
    this.metadata = (header.__metadata__ ?? {}) as Record<string, string>;
    const tensors = new Map<string, SafetensorsTensorInfo>();
    const dataLength = data.byteLength - this.dataStart;
    for (const [name, entry] of Object.entries(header)) {
      if (name === "__metadata__") continue;
      const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      if (typeof dtype !== "string" || !Array.isArray(shape) || !Array.isArray(offsets) || offsets.length !== 2) {
        throw new ModelFormatError("safetensors", "bad-header", `safetensors tensor ${name}: header entry needs dtype, shape and data_offsets, got ${JSON.stringify(entry)}`);
      }
      const [begin, end] = offsets as number[];
      if (!(Number.isInteger(begin) && Number.isInteger(end) && 0 <= begin && begin <= end)) {
        throw new ModelFormatError("safetensors", "bad-header", `safetensors tensor ${name}: bad data_offsets ${JSON.stringify(offsets)}`);
      }
      if (end > dataLength) {
        throw new ModelFormatError("safetensors", "truncated", `safetensors file truncated: expected ${this.dataStart + end} bytes for tensor ${name}, file has ${data.byteLength}`);
      }
      tensors.set(name, { dtype, shape: shape as number[], dataOffsets: [begin, end] });
    }
    this.tensors = tensors;
  }

  /** A tensor as fp32 (F32 zero-copy when aligned; F16 and BF16 converted), checked against `expectedShape` when given. */
  float32(name: string, expectedShape?: readonly number[]): Float32Array {
    const info = this.tensors.get(name);
    if (!info) throw new ModelFormatError("safetensors", "missing-tensor", `safetensors file has no tensor ${name}`);
    if (expectedShape && (info.shape.length !== expectedShape.length || info.shape.some((size, i) => size !== expectedShape[i]))) {
      throw new ModelFormatError("safetensors", "bad-shape", `safetensors tensor ${name} has shape [${info.shape.join(", ")}], expected [${expectedShape.join(", ")}]`);
    }
    const dtype = info.dtype as SafetensorsFloatType;
    const width = bytesPerElement[dtype];
    if (width === undefined) throw new ModelFormatError("safetensors", "unsupported", `safetensors tensor ${name} has dtype ${info.dtype}; supported: F32, F16, BF16`);
    const count = info.shape.reduce((product, size) => product * size, 1);
    const [begin, end] = info.dataOffsets;
    if (end - begin !== count * width) {
      throw new ModelFormatError("safetensors", "bad-shape", `safetensors tensor ${name}: ${end - begin} bytes do not hold shape [${info.shape.join(", ")}] of ${info.dtype} (${count * width} bytes)`);
    }
    const offset = this.dataStart + begin;
    if (dtype === "F32") return float32View(this.data, offset, count);
    return dtype === "F16" ? decodeFloat16(this.data, offset, count) : decodeBfloat16(this.data, offset, count);
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }
}

export interface SafetensorsWriterTensor {
  readonly dtype: SafetensorsFloatType;
  readonly shape: readonly number[];
  readonly data: Float32Array;
}

/** Serialises fp32 tensors as a .safetensors file (F16/BF16 rounded to nearest even); for tests and exporters. */
export function writeSafetensors(tensors: Readonly<Record<string, SafetensorsWriterTensor>>, metadata?: Readonly<Record<string, string>>): Uint8Array {
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let dataLength = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const size = tensor.data.length * bytesPerElement[tensor.dtype];
    header[name] = { dtype: tensor.dtype, shape: tensor.shape, data_offsets: [dataLength, dataLength + size] };
    dataLength += size;
  }
  const headerText = JSON.stringify(header);
  const unpadded = new TextEncoder().encode(headerText).length;
  // Pad the header with spaces so the data section starts 8-byte aligned.
  const headerBytes = new TextEncoder().encode(headerText + " ".repeat(Math.ceil(unpadded / 8) * 8 - unpadded));
  const out = new Uint8Array(8 + headerBytes.length + dataLength);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let offset = 8 + headerBytes.length;
  for (const tensor of Object.values(tensors)) {
    if (tensor.dtype === "F32") {
      for (let i = 0; i < tensor.data.length; i++) view.setFloat32(offset + 4 * i, tensor.data[i], true);
      offset += tensor.data.length * 4;
    } else {
      const convert = tensor.dtype === "F16" ? numberToFloat16Bits : numberToBfloat16Bits;
      for (let i = 0; i < tensor.data.length; i++) view.setUint16(offset + 2 * i, convert(tensor.data[i]), true);
      offset += tensor.data.length * 2;
    }
  }
  return out;
}
