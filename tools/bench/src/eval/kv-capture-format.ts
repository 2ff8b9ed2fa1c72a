/**
 * Versioned binary file of real KV activations captured from a model run:
 *
 *   bytes 0..3   magic "KVPK"
 *   bytes 4..7   format version (uint32, little-endian)
 *   bytes 8..11  header length H in bytes (uint32, little-endian)
 *   bytes 12..   H bytes of UTF-8 JSON header ({@link KvCaptureHeader}), then zero padding to a multiple of 4
 *   then, for each sequence in header order, three little-endian Float32 arrays:
 *     keys    [layers][kvHeads][length][headDim]   post-RoPE, exactly what the cache stored
 *     values  [layers][kvHeads][length][headDim]
 *     queries [layers][heads][length][headDim]     post-RoPE; the query at position t attends over keys 0..t
 */
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { dirname } from "node:path";

export const kvCaptureMagic = "KVPK";
export const kvCaptureFormatVersion = 1;
const prefixBytes = 12;

export class KvCaptureFormatError extends Error {
  override readonly name = "KvCaptureFormatError";
  static isInstance(error: unknown): error is KvCaptureFormatError {
    return error instanceof Error && error.name === "KvCaptureFormatError";
  }
}

export interface KvCaptureShape {
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
}

export interface CapturedSequence {
  /** Where the text came from, e.g. "tinystories:3" or "wikitext:0". */
  readonly source: string;
  readonly tokens: readonly number[];
  /** layers × kvHeads × tokens.length × headDim */
  readonly keys: Float32Array;
  /** layers × kvHeads × tokens.length × headDim */
  readonly values: Float32Array;
  /** layers × heads × tokens.length × headDim */
  readonly queries: Float32Array;
}

export interface KvCapture {
  readonly model: string;
  readonly shape: KvCaptureShape;
  /** The model's configuration as JSON (informational: dimensions, RoPE θ, context length …). */
  readonly config: Record<string, unknown>;
  readonly sequences: readonly CapturedSequence[];
}

interface KvCaptureHeader {
  model: string;
  shape: KvCaptureShape;
  config: Record<string, unknown>;
  sequences: { source: string; tokens: number[] }[];
}

function checkShape(shape: KvCaptureShape): void {
  for (const key of ["layers", "heads", "kvHeads", "headDim"] as const) {
    const value = shape[key];
    if (!Number.isInteger(value) || value < 1) throw new KvCaptureFormatError(`shape.${key} must be a positive integer, got ${value}`);
  }
  if (shape.heads % shape.kvHeads !== 0) throw new KvCaptureFormatError(`heads (${shape.heads}) must be a multiple of kvHeads (${shape.kvHeads})`);
}

/** Float counts of one sequence's keys (= values) and queries. */
export function capturedArrayLengths(shape: KvCaptureShape, length: number): { keys: number; queries: number } {
  return { keys: shape.layers * shape.kvHeads * length * shape.headDim, queries: shape.layers * shape.heads * length * shape.headDim };
}

/** Offset of (layer, head, position) in a keys/values (head = KV head) or queries (head = query head) array. */
export function capturedOffset(headsInArray: number, headDim: number, length: number, layer: number, head: number, position: number): number {
  return ((layer * headsInArray + head) * length + position) * headDim;
}

function checkSequence(shape: KvCaptureShape, sequence: CapturedSequence, index: number): void {
  const expected = capturedArrayLengths(shape, sequence.tokens.length);
  const check = (name: string, array: Float32Array, length: number) => {
    if (!(array instanceof Float32Array) || array.length !== length) {
      throw new KvCaptureFormatError(`sequence ${index}: ${name} must be a Float32Array of ${length} floats, got ${array?.length}`);
    }
  };
  check("keys", sequence.keys, expected.keys);
  check("values", sequence.values, expected.keys);
  check("queries", sequence.queries, expected.queries);
}

function littleEndianFloats(array: Float32Array): Uint8Array {
  const bytes = new Uint8Array(array.length * 4);
  const view = new DataView(bytes.buffer);
  for (let index = 0; index < array.length; index++) view.setFloat32(index * 4, array[index], true);
  return bytes;
}

/** Serializes a capture into the KVPK format. */
export function encodeKvCapture(capture: KvCapture): Uint8Array {
  checkShape(capture.shape);
  capture.sequences.forEach((sequence, index) => checkSequence(capture.shape, sequence, index));
  const header: KvCaptureHeader = {
    model: capture.model,
    shape: { layers: capture.shape.layers, heads: capture.shape.heads, kvHeads: capture.shape.kvHeads, headDim: capture.shape.headDim },
    config: capture.config,
    sequences: capture.sequences.map((sequence) => ({ source: sequence.source, tokens: [...sequence.tokens] })),
  };
  const headerBytes = new TextEncoder().encode(JSON.stringify(header));
  const paddedHeader = Math.ceil(headerBytes.length / 4) * 4;
  const floatCount = capture.sequences.reduce((sum, sequence) => sum + 2 * sequence.keys.length + sequence.queries.length, 0);
  const out = new Uint8Array(prefixBytes + paddedHeader + floatCount * 4);
  const view = new DataView(out.buffer);
  out.set(new TextEncoder().encode(kvCaptureMagic), 0);
  view.setUint32(4, kvCaptureFormatVersion, true);
  view.setUint32(8, headerBytes.length, true);
  out.set(headerBytes, prefixBytes);
  let offset = prefixBytes + paddedHeader;
  for (const sequence of capture.sequences) {
    for (const array of [sequence.keys, sequence.values, sequence.queries]) {
      out.set(littleEndianFloats(array), offset);
      offset += array.length * 4;
    }
  }
  return out;
}

function readFloats(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
  const out = new Float32Array(count);
  for (let index = 0; index < count; index++) out[index] = view.getFloat32(index * 4, true);
  return out;
}

/** Parses a KVPK file; throws {@link KvCaptureFormatError} on a wrong magic, version, header or length. */
export function decodeKvCapture(bytes: Uint8Array): KvCapture {
  if (bytes.length < prefixBytes) throw new KvCaptureFormatError(`file of ${bytes.length} bytes is too short for a KVPK header`);
  const magic = new TextDecoder().decode(bytes.subarray(0, 4));
  if (magic !== kvCaptureMagic) throw new KvCaptureFormatError(`not a KV capture file: magic ${JSON.stringify(magic)}, expected "${kvCaptureMagic}"`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = view.getUint32(4, true);
  if (version !== kvCaptureFormatVersion) throw new KvCaptureFormatError(`unsupported KV capture format version ${version} (this reader knows ${kvCaptureFormatVersion})`);
  const headerLength = view.getUint32(8, true);
  if (prefixBytes + headerLength > bytes.length) throw new KvCaptureFormatError(`header of ${headerLength} bytes runs past the end of a ${bytes.length}-byte file`);
  let header: KvCaptureHeader;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(prefixBytes, prefixBytes + headerLength))) as KvCaptureHeader;
  } catch (error) {
    throw new KvCaptureFormatError(`header is not valid UTF-8 JSON: ${(error as Error).message}`);
  }
  if (typeof header !== "object" || header === null || !Array.isArray(header.sequences) || typeof header.shape !== "object") {
    throw new KvCaptureFormatError("header lacks shape or sequences");
  }
  checkShape(header.shape);
  let offset = prefixBytes + Math.ceil(headerLength / 4) * 4;
  const sequences: CapturedSequence[] = header.sequences.map((entry, index) => {
    if (!Array.isArray(entry.tokens) || !entry.tokens.every((token) => Number.isInteger(token))) {
      throw new KvCaptureFormatError(`sequence ${index}: tokens must be an array of integers`);
    }
    const lengths = capturedArrayLengths(header.shape, entry.tokens.length);
    const needed = (2 * lengths.keys + lengths.queries) * 4;
    if (offset + needed > bytes.length) throw new KvCaptureFormatError(`sequence ${index} needs ${needed} bytes at offset ${offset}, file has ${bytes.length}`);
    const keys = readFloats(bytes, offset, lengths.keys);
    const values = readFloats(bytes, offset + lengths.keys * 4, lengths.keys);
    const queries = readFloats(bytes, offset + lengths.keys * 8, lengths.queries);
    offset += needed;
    return { source: String(entry.source), tokens: entry.tokens, keys, values, queries };
  });
  if (offset !== bytes.length) throw new KvCaptureFormatError(`${bytes.length - offset} trailing bytes after the last sequence`);
  return { model: String(header.model), shape: header.shape, config: header.config ?? {}, sequences };
}

export function writeKvCapture(path: string, capture: KvCapture): void {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, encodeKvCapture(capture));
}

export function readKvCapture(path: string): KvCapture {
  return decodeKvCapture(new Uint8Array(readFileSync(path)));
}
