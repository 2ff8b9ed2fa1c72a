import type { CodecSpec } from "@kvpack/codecs";
import { crc32 } from "./crc32.js";
import { CorruptPageError } from "./errors.js";

/**
 * Binary record of one page, the unit every tier stores. Layout (little-endian):
 *
 *   "KVPG" | u16 version | u16 flags (bit 0: blocks present) | u32 header length | header JSON
 *   | per segment: positions i32×count, live u8×count, key block, value block
 *   | key digest: min f32×digest, max f32×digest (digest = headDim, or 0 without digests)
 *   | u32 CRC-32 of everything before it
 *
 * The header names the codec spec and id of every segment, so a page read in another process
 * (Redis replica) is rebuilt with only `createCodec(spec)`.
 */
export const pageRecordMagic = 0x4750564b; // "KVPG" read as little-endian u32
export const pageRecordVersion = 1;
const fixedHeaderBytes = 12;

export interface PageRecordSegment {
  readonly keySpec: CodecSpec;
  readonly valueSpec: CodecSpec;
  readonly keyCodecId: string;
  readonly valueCodecId: string;
  readonly positions: Int32Array;
  readonly live: Uint8Array;
  /** Undefined in a metadata-only record (an offloaded page inside a saved session). */
  readonly keyData: Uint8Array | undefined;
  readonly valueData: Uint8Array | undefined;
  readonly keyByteLength: number;
  readonly valueByteLength: number;
}

export interface PageRecord {
  readonly layer: number;
  readonly kvHead: number;
  readonly firstPosition: number;
  readonly headDim: number;
  readonly segments: readonly PageRecordSegment[];
  /** Per-channel key bounds, headDim each, or empty when the cache keeps no digests. */
  readonly keyMin: Float32Array;
  readonly keyMax: Float32Array;
}

interface HeaderSegment {
  keySpec: CodecSpec;
  valueSpec: CodecSpec;
  keyCodecId: string;
  valueCodecId: string;
  count: number;
  keyBytes: number;
  valueBytes: number;
}

interface Header {
  layer: number;
  kvHead: number;
  firstPosition: number;
  headDim: number;
  digest: number;
  segments: HeaderSegment[];
}

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder("utf-8", { fatal: true });

export function encodePageRecord(record: PageRecord): Uint8Array {
  const blocksPresent = record.segments.every((segment) => segment.keyData !== undefined && segment.valueData !== undefined);
  const header: Header = {
    layer: record.layer,
    kvHead: record.kvHead,
    firstPosition: record.firstPosition,
    headDim: record.headDim,
    digest: record.keyMin.length,
    segments: record.segments.map((segment) => ({
      keySpec: segment.keySpec,
      valueSpec: segment.valueSpec,
      keyCodecId: segment.keyCodecId,
      valueCodecId: segment.valueCodecId,
      count: segment.positions.length,
      keyBytes: segment.keyByteLength,
      valueBytes: segment.valueByteLength,
    })),
  };
  const headerBytes = textEncoder.encode(JSON.stringify(header));
  if (record.keyMax.length !== record.keyMin.length) throw new RangeError("keyMin and keyMax differ in length");
  let length = fixedHeaderBytes + headerBytes.length + record.keyMin.length * 8 + 4;
  for (const segment of record.segments) {
    length += segment.positions.length * 5;
    if (blocksPresent) length += segment.keyByteLength + segment.valueByteLength;
  }
  const bytes = new Uint8Array(length);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, pageRecordMagic, true);
  view.setUint16(4, pageRecordVersion, true);
  view.setUint16(6, blocksPresent ? 1 : 0, true);
  view.setUint32(8, headerBytes.length, true);
  bytes.set(headerBytes, fixedHeaderBytes);
  let offset = fixedHeaderBytes + headerBytes.length;
  for (const segment of record.segments) {
    for (let i = 0; i < segment.positions.length; i++, offset += 4) view.setInt32(offset, segment.positions[i], true);
    bytes.set(segment.live, offset);
    offset += segment.live.length;
    if (blocksPresent) {
      bytes.set(segment.keyData as Uint8Array, offset);
      offset += segment.keyByteLength;
      bytes.set(segment.valueData as Uint8Array, offset);
      offset += segment.valueByteLength;
    }
  }
  for (let i = 0; i < record.keyMin.length; i++, offset += 4) view.setFloat32(offset, record.keyMin[i], true);
  for (let i = 0; i < record.keyMax.length; i++, offset += 4) view.setFloat32(offset, record.keyMax[i], true);
  view.setUint32(offset, crc32(bytes, 0, offset), true);
  return bytes;
}

function isNonNegativeInteger(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * Parses and verifies a page record. Anything wrong (length, magic, version, checksum, header)
 * throws {@link CorruptPageError}; a record that parses is byte-for-byte what was written.
 */
export function decodePageRecord(bytes: Uint8Array, key?: string): PageRecord {
  if (bytes.length < fixedHeaderBytes + 4) throw new CorruptPageError(`record of ${bytes.length} bytes is too short`, key);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== pageRecordMagic) throw new CorruptPageError("bad magic", key);
  const stored = view.getUint32(bytes.length - 4, true);
  const computed = crc32(bytes, 0, bytes.length - 4);
  if (stored !== computed) {
    throw new CorruptPageError(`CRC-32 mismatch (stored ${stored.toString(16)}, computed ${computed.toString(16)})`, key);
  }
  const version = view.getUint16(4, true);
  if (version !== pageRecordVersion) throw new CorruptPageError(`unsupported record version ${version}`, key);
  const blocksPresent = (view.getUint16(6, true) & 1) === 1;
  const headerLength = view.getUint32(8, true);
  if (fixedHeaderBytes + headerLength > bytes.length - 4) throw new CorruptPageError("header runs past the end", key);
  let header: Header;
  try {
    header = JSON.parse(textDecoder.decode(bytes.subarray(fixedHeaderBytes, fixedHeaderBytes + headerLength))) as Header;
  } catch (error) {
    throw new CorruptPageError(`unreadable header (${(error as Error).message})`, key);
  }
  if (
    !isNonNegativeInteger(header.layer) ||
    !isNonNegativeInteger(header.kvHead) ||
    !isNonNegativeInteger(header.firstPosition) ||
    !isNonNegativeInteger(header.headDim) ||
    !(header.digest === 0 || header.digest === header.headDim) ||
    !Array.isArray(header.segments)
  ) {
    throw new CorruptPageError("malformed header", key);
  }
  let offset = fixedHeaderBytes + headerLength;
  const end = bytes.length - 4;
  const need = (count: number): void => {
    if (offset + count > end) throw new CorruptPageError("body runs past the end", key);
  };
  const segments: PageRecordSegment[] = [];
  for (const segment of header.segments) {
    if (!isNonNegativeInteger(segment.count) || !isNonNegativeInteger(segment.keyBytes) || !isNonNegativeInteger(segment.valueBytes)) {
      throw new CorruptPageError("malformed segment header", key);
    }
    need(segment.count * 5);
    const positions = new Int32Array(segment.count);
    for (let i = 0; i < segment.count; i++, offset += 4) positions[i] = view.getInt32(offset, true);
    const live = bytes.slice(offset, offset + segment.count);
    offset += segment.count;
    let keyData: Uint8Array | undefined;
    let valueData: Uint8Array | undefined;
    if (blocksPresent) {
      need(segment.keyBytes + segment.valueBytes);
      keyData = bytes.slice(offset, offset + segment.keyBytes);
      offset += segment.keyBytes;
      valueData = bytes.slice(offset, offset + segment.valueBytes);
      offset += segment.valueBytes;
    }
    segments.push({
      keySpec: segment.keySpec,
      valueSpec: segment.valueSpec,
      keyCodecId: segment.keyCodecId,
      valueCodecId: segment.valueCodecId,
      positions,
      live,
      keyData,
      valueData,
      keyByteLength: segment.keyBytes,
      valueByteLength: segment.valueBytes,
    });
  }
  need(header.digest * 8);
  const keyMin = new Float32Array(header.digest);
  const keyMax = new Float32Array(header.digest);
  for (let i = 0; i < header.digest; i++, offset += 4) keyMin[i] = view.getFloat32(offset, true);
  for (let i = 0; i < header.digest; i++, offset += 4) keyMax[i] = view.getFloat32(offset, true);
  if (offset !== end) throw new CorruptPageError(`${end - offset} trailing bytes`, key);
  return {
    layer: header.layer,
    kvHead: header.kvHead,
    firstPosition: header.firstPosition,
    headDim: header.headDim,
    segments,
    keyMin,
    keyMax,
  };
}
