import { numberToBfloat16Bits, numberToFloat16Bits } from "../model/half-float.js";
import { ggmlBlockCodecs } from "./ggml-block-codecs.js";
import { q4_0, q8_0 } from "./ggml-legacy-quants.js";
import { GgmlType, type GgmlTypeName, GgufValueType, type GgufValueTypeName, ggmlTypeLayout } from "./gguf-types.js";

export type GgufWriterValue =
  | { readonly type: Exclude<GgufValueTypeName, "array" | "string" | "bool">; readonly value: number }
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "bool"; readonly value: boolean }
  | { readonly type: "array"; readonly itemType: Exclude<GgufValueTypeName, "array">; readonly value: readonly (number | string | boolean)[] };

export interface GgufWriterTensor {
  readonly name: string;
  /** ggml order (innermost first): a row-major [rows, columns] matrix has dims [columns, rows]. */
  readonly dims: readonly number[];
  readonly type: GgmlTypeName;
  readonly data: Float32Array;
}

class ByteSink {
  private buffer = new Uint8Array(1 << 16);
  private view = new DataView(this.buffer.buffer);
  length = 0;

  /**
   * Reserves `size` bytes and returns their offset. It may replace `buffer` and `view`, so callers take
   * the offset first: in `this.view.setX(this.reserve(n), …)` JS reads the old view before growing.
   */
  private reserve(size: number): number {
    if (this.length + size > this.buffer.length) {
      const grown = new Uint8Array(Math.max(this.buffer.length * 2, this.length + size));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer);
    }
    const at = this.length;
    this.length += size;
    return at;
  }

  uint8(value: number): void {
    const at = this.reserve(1);
    this.view.setUint8(at, value);
  }
  uint16(value: number): void {
    const at = this.reserve(2);
    this.view.setUint16(at, value, true);
  }
  uint32(value: number): void {
    const at = this.reserve(4);
    this.view.setUint32(at, value, true);
  }
  uint64(value: number | bigint): void {
    const at = this.reserve(8);
    this.view.setBigUint64(at, BigInt(value), true);
  }
  scalar(type: GgufValueTypeName, value: number | string | boolean): void {
    const v = value as number;
    switch (type) {
      case "uint8": { const at = this.reserve(1); return this.view.setUint8(at, v); }
      case "int8": { const at = this.reserve(1); return this.view.setInt8(at, v); }
      case "uint16": { const at = this.reserve(2); return this.view.setUint16(at, v, true); }
      case "int16": { const at = this.reserve(2); return this.view.setInt16(at, v, true); }
      case "uint32": { const at = this.reserve(4); return this.view.setUint32(at, v, true); }
      case "int32": { const at = this.reserve(4); return this.view.setInt32(at, v, true); }
      case "float32": { const at = this.reserve(4); return this.view.setFloat32(at, v, true); }
      case "bool": return this.uint8(value ? 1 : 0);
      case "string": return this.string(value as string);
      case "uint64": { const at = this.reserve(8); return this.view.setBigUint64(at, BigInt(v), true); }
      case "int64": { const at = this.reserve(8); return this.view.setBigInt64(at, BigInt(v), true); }
      case "float64": { const at = this.reserve(8); return this.view.setFloat64(at, v, true); }
      default: throw new RangeError(`GGUF writer: cannot write a nested ${type}`);
    }
  }
  string(value: string): void {
    const bytes = new TextEncoder().encode(value);
    this.uint64(bytes.length);
    this.bytes(bytes);
  }
  bytes(bytes: Uint8Array): void {
    // reserve() may replace the buffer, so take the offset first.
    const at = this.reserve(bytes.length);
    this.buffer.set(bytes, at);
  }
  padTo(alignment: number): void {
    this.reserve((alignment - (this.length % alignment)) % alignment);
  }
  result(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** ggml quantize_row_q8_0_ref: per block of 32, d = max|x| / 127, q = round(x / d). */
export function quantizeQ8_0(values: Float32Array): Uint8Array {
  return q8_0.quantize(values);
}

/** ggml quantize_row_q4_0_ref: d = (signed value of largest magnitude) / −8, q = min(15, trunc(x / d + 8.5)). */
export function quantizeQ4_0(values: Float32Array): Uint8Array {
  return q4_0.quantize(values);
}

/** `values` encoded as ggml type `type` with llama.cpp's reference quantizer (quantize_row_*_ref). */
export function quantizeGgml(type: GgmlTypeName, values: Float32Array): Uint8Array {
  switch (type) {
    case "F32":
      return new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
    case "F16":
    case "BF16": {
      const convert = type === "F16" ? numberToFloat16Bits : numberToBfloat16Bits;
      const out = new Uint8Array(values.length * 2);
      const view = new DataView(out.buffer);
      for (let i = 0; i < values.length; i++) view.setUint16(2 * i, convert(values[i]), true);
      return out;
    }
  }
  const codec = ggmlBlockCodecs[type];
  if (!codec) throw new RangeError(`GGUF writer: cannot quantize to ${type}`);
  if (values.length % codec.blockSize !== 0) throw new RangeError(`GGUF writer: ${values.length} values are not a whole number of ${type} blocks of ${codec.blockSize}`);
  return codec.quantize(values);
}

/** Serialises a GGUF v3 file (metadata, then tensors quantized to their type, 32-byte aligned); for tests and exporters. */
export function writeGguf(metadata: Readonly<Record<string, GgufWriterValue>>, tensors: readonly GgufWriterTensor[], alignment = 32): Uint8Array {
  const encoded = tensors.map((tensor) => {
    const layout = ggmlTypeLayout[GgmlType[tensor.type]];
    const count = tensor.dims.reduce((product, size) => product * size, 1);
    if (count !== tensor.data.length || count % layout.blockSize !== 0) {
      throw new RangeError(`GGUF writer: tensor ${tensor.name} has ${tensor.data.length} values for dims [${tensor.dims.join(", ")}] (${layout.name} blocks of ${layout.blockSize})`);
    }
    return quantizeGgml(tensor.type, tensor.data);
  });
  const sink = new ByteSink();
  sink.uint32(0x46554747);
  sink.uint32(3);
  sink.uint64(tensors.length);
  sink.uint64(Object.keys(metadata).length);
  for (const [key, entry] of Object.entries(metadata)) {
    sink.string(key);
    sink.uint32(GgufValueType[entry.type]);
    if (entry.type === "array") {
      sink.uint32(GgufValueType[entry.itemType]);
      sink.uint64(entry.value.length);
      for (const item of entry.value) sink.scalar(entry.itemType, item);
    } else {
      sink.scalar(entry.type, entry.value);
    }
  }
  let offset = 0;
  tensors.forEach((tensor, i) => {
    sink.string(tensor.name);
    sink.uint32(tensor.dims.length);
    for (const size of tensor.dims) sink.uint64(size);
    sink.uint32(GgmlType[tensor.type]);
    sink.uint64(offset);
    offset += Math.ceil(encoded[i].length / alignment) * alignment;
  });
  sink.padTo(alignment);
  for (const bytes of encoded) {
    sink.bytes(bytes);
    sink.padTo(alignment);
  }
  return sink.result();
}
