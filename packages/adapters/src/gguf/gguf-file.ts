import { ModelFormatError } from "../model/model-format-error.js";
import { dequantizeGgml } from "./ggml-dequantize.js";
import { type GgufByteSource, isByteSource, memoryByteSource } from "./gguf-byte-source.js";
import { QuantizedTensor } from "./quantized-tensor.js";
import { GgufValueType, type GgufValue, ggmlTypeLayout } from "./gguf-types.js";

const supportedTypeNames = Object.values(ggmlTypeLayout).map((layout) => layout.name).join(", ");
const ggufMagic = 0x46554747; // "GGUF" read as a little-endian uint32

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: dims[0] is the innermost (contiguous) dimension. */
  readonly dims: readonly number[];
  readonly type: number;
  /** Byte offset within the data section. */
  readonly offset: number;
  readonly elementCount: number;
  readonly byteLength: number;
}

/** What the header says, and where the data section starts. */
interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly alignment: number;
  readonly infos: readonly Omit<GgufTensorInfo, "byteLength" | "elementCount">[];
  readonly dataStart: number;
}

function parseHeader(bytes: Uint8Array): GgufHeader {
  const reader = new GgufReader(bytes);
  const magic = reader.uint32("magic");
  if (magic !== ggufMagic) {
    throw new ModelFormatError("gguf", "bad-magic", `not a GGUF file: magic is 0x${magic.toString(16).padStart(8, "0")}, expected 0x46554747 ("GGUF")`);
  }
  const version = reader.uint32("version");
  if (version !== 2 && version !== 3) throw new ModelFormatError("gguf", "unsupported", `GGUF version ${version} is not supported (2 and 3 are)`);
  const tensorCount = reader.uint64("tensor_count");
  const metadataCount = reader.uint64("metadata_kv_count");
  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < metadataCount; i++) {
    const key = reader.string(`metadata key ${i}`);
    metadata.set(key, reader.value(reader.uint32(`type of ${key}`), key));
  }
  const alignment = metadata.get("general.alignment") ?? 32;
  if (typeof alignment !== "number" || !(alignment > 0 && Number.isInteger(alignment))) {
    throw new ModelFormatError("gguf", "bad-metadata", `GGUF general.alignment must be a positive integer, got ${String(alignment)}`);
  }
  const infos: Omit<GgufTensorInfo, "byteLength" | "elementCount">[] = [];
  for (let i = 0; i < tensorCount; i++) {
    const name = reader.string(`tensor ${i} name`);
    const dimensionCount = reader.uint32(`tensor ${name} n_dims`);
    if (dimensionCount > 4) throw new ModelFormatError("gguf", "bad-header", `GGUF tensor ${name} has ${dimensionCount} dimensions (at most 4)`);
    const dims = Array.from({ length: dimensionCount }, (_, d) => reader.uint64(`tensor ${name} dim ${d}`));
    infos.push({ name, dims, type: reader.uint32(`tensor ${name} type`), offset: reader.uint64(`tensor ${name} offset`) });
  }
  return { version, metadata, alignment, infos, dataStart: Math.ceil(reader.offset / alignment) * alignment };
}

/** The first header read from a byte source; a header that does not fit is read again from 4× as many bytes. */
const firstHeaderRead = 1 << 20;

/** Parses the header from as short a prefix as holds it (only a source on disk is read in steps). */
function readHeader(source: GgufByteSource, inMemory: boolean): GgufHeader {
  for (let length = inMemory ? source.byteLength : Math.min(source.byteLength, firstHeaderRead); ; length = Math.min(source.byteLength, length * 4)) {
    try {
      return parseHeader(source.read(0, length));
    } catch (error) {
      // A truncation before the end of the source only means the prefix was too short.
      if (!(ModelFormatError.isInstance(error) && error.code === "truncated" && length < source.byteLength)) throw error;
    }
  }
}

/**
 * A parsed GGUF file (v2 or v3): header, metadata key–values, tensor infos and the aligned data
 * section. Tensors are dequantized to fp32 on request. Given a GgufByteSource instead of bytes, only
 * the header is read at once; each tensor is read when asked for (and `quantized` tensors then read
 * their blocks each time their `blocks` are taken), so the whole file never needs to be in memory.
 */
export class GgufFile {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: ReadonlyMap<string, GgufTensorInfo>;
  readonly alignment: number;
  private readonly source: GgufByteSource;
  private readonly dataStart: number;

  constructor(bytes: ArrayBuffer | Uint8Array | GgufByteSource) {
    const inMemory = !isByteSource(bytes);
    const source = inMemory ? memoryByteSource(bytes) : bytes;
    const header = readHeader(source, inMemory);
    this.version = header.version;
    this.metadata = header.metadata;
    this.alignment = header.alignment;
    this.dataStart = header.dataStart;
    this.source = source;
    const tensors = new Map<string, GgufTensorInfo>();
    for (const info of header.infos) {
      const elementCount = info.dims.reduce((product, size) => product * size, 1);
      const layout = ggmlTypeLayout[info.type];
      // Unsupported types are listed without a size; reading them throws a clear error.
      const byteLength = layout ? (elementCount / layout.blockSize) * layout.blockBytes : 0;
      if (layout && elementCount % layout.blockSize !== 0) {
        throw new ModelFormatError("gguf", "bad-shape", `GGUF tensor ${info.name}: ${elementCount} elements are not a whole number of ${layout.name} blocks of ${layout.blockSize}`);
      }
      tensors.set(info.name, { ...info, elementCount, byteLength });
    }
    this.tensors = tensors;
  }

  /** A tensor dequantized to fp32 (row-major, dims reversed); `expectedDims` in ggml order when given. */
  float32(name: string, expectedDims?: readonly number[]): Float32Array {
    const info = this.checkedInfo(name, expectedDims);
    return dequantizeGgml(info.type, this.source.read(this.dataStart + info.offset, info.byteLength), 0, info.elementCount);
  }

  /**
   * A tensor's blocks as stored (no fp32 copy): a view of the bytes in memory, or, from a byte
   * source, read from it whenever `blocks` is taken. `expectedDims` in ggml order when given.
   */
  quantized(name: string, expectedDims?: readonly number[]): QuantizedTensor {
    const info = this.checkedInfo(name, expectedDims);
    return new QuantizedTensor(name, ggmlTypeLayout[info.type].name, [...info.dims].reverse(), { source: this.source, offset: this.dataStart + info.offset, byteLength: info.byteLength });
  }

  private checkedInfo(name: string, expectedDims?: readonly number[]): GgufTensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new ModelFormatError("gguf", "missing-tensor", `GGUF file has no tensor ${name}`);
    if (expectedDims && (info.dims.length !== expectedDims.length || info.dims.some((size, i) => size !== expectedDims[i]))) {
      throw new ModelFormatError("gguf", "bad-shape", `GGUF tensor ${name} has dims [${info.dims.join(", ")}], expected [${expectedDims.join(", ")}]`);
    }
    const layout = ggmlTypeLayout[info.type];
    if (!layout) throw new ModelFormatError("gguf", "unsupported", `GGUF tensor ${name} has ggml type ${info.type}; supported: ${supportedTypeNames}`);
    const start = this.dataStart + info.offset;
    if (start + info.byteLength > this.source.byteLength) {
      throw new ModelFormatError("gguf", "truncated", `GGUF file truncated: expected ${start + info.byteLength} bytes for tensor ${name} (${layout.name}), file has ${this.source.byteLength}`);
    }
    return info;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }
}

class GgufReader {
  offset = 0;
  private readonly view: DataView;
  private readonly decoder = new TextDecoder();

  constructor(private readonly bytes: Uint8Array) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  private need(size: number, what: string): number {
    const at = this.offset;
    if (at + size > this.bytes.byteLength) {
      throw new ModelFormatError("gguf", "truncated", `GGUF file truncated: expected ${at + size} bytes for ${what}, file has ${this.bytes.byteLength}`);
    }
    this.offset += size;
    return at;
  }

  uint32(what: string): number {
    return this.view.getUint32(this.need(4, what), true);
  }

  uint64(what: string): number {
    const value = this.view.getBigUint64(this.need(8, what), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw new ModelFormatError("gguf", "bad-header", `GGUF ${what} is ${value}, too large`);
    return Number(value);
  }

  string(what: string): string {
    const length = this.uint64(`${what} length`);
    const at = this.need(length, what);
    return this.decoder.decode(this.bytes.subarray(at, at + length));
  }

  value(type: number, key: string): GgufValue {
    const view = this.view;
    switch (type) {
      case GgufValueType.uint8:
        return view.getUint8(this.need(1, key));
      case GgufValueType.int8:
        return view.getInt8(this.need(1, key));
      case GgufValueType.uint16:
        return view.getUint16(this.need(2, key), true);
      case GgufValueType.int16:
        return view.getInt16(this.need(2, key), true);
      case GgufValueType.uint32:
        return view.getUint32(this.need(4, key), true);
      case GgufValueType.int32:
        return view.getInt32(this.need(4, key), true);
      case GgufValueType.float32:
        return shortestFloat32Decimal(view.getFloat32(this.need(4, key), true));
      case GgufValueType.bool:
        return view.getUint8(this.need(1, key)) !== 0;
      case GgufValueType.string:
        return this.string(key);
      case GgufValueType.uint64: {
        const value = view.getBigUint64(this.need(8, key), true);
        return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
      }
      case GgufValueType.int64: {
        const value = view.getBigInt64(this.need(8, key), true);
        return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value;
      }
      case GgufValueType.float64:
        return view.getFloat64(this.need(8, key), true);
      case GgufValueType.array: {
        const itemType = this.uint32(`${key} item type`);
        const length = this.uint64(`${key} length`);
        // Every item takes at least one byte: a longer array cannot fit in the rest of the file.
        if (length > this.bytes.byteLength - this.offset) {
          throw new ModelFormatError("gguf", "truncated", `GGUF file truncated: metadata ${key} claims ${length} items, only ${this.bytes.byteLength - this.offset} bytes remain`);
        }
        const items: GgufValue[] = new Array(length);
        for (let i = 0; i < length; i++) items[i] = this.value(itemType, key);
        return items;
      }
      default:
        throw new ModelFormatError("gguf", "bad-header", `GGUF metadata ${key} has unknown value type ${type}`);
    }
  }
}

/** The shortest decimal that rounds to the same float32 (1e-5 stored as float32 reads back as 1e-5, not 9.99999974e-6). */
function shortestFloat32Decimal(value: number): number {
  if (!Number.isFinite(value)) return value;
  for (let digits = 1; digits < 9; digits++) {
    const candidate = Number.parseFloat(value.toPrecision(digits));
    if (Math.fround(candidate) === value) return candidate;
  }
  return value;
}
