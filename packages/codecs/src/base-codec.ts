import { readUint32, writeUint32 } from "./byte-io.js";
import type { AnyCodecKind, BlockByteLayout, Codec, CodecSpec, EncodedBlock, PreparedQuery } from "./codec.js";
import { CodecError } from "./codec-error.js";

/** Rows in the reference block that `bitsPerElement()` reports when no count is given. */
export const defaultBlockRows = 128;
/** Every block starts with one little-endian uint32: row count (low 24 bits) | codec kind tag << 24. */
export const blockHeaderBytes = 4;
const maxRows = (1 << 24) - 1;

const kindTags: Record<AnyCodecKind, number> = { fibquant: 1, turboquant: 2, kivi: 3, quarot: 4, int8: 5, fp16: 6, fp32: 7, q8_0: 8, q4_0: 9, q4_1: 10, q5_0: 11 };

/** Query state reused across all blocks of one decoding step: raw copy, rotated copy, lookup tables. */
export class QueryState implements PreparedQuery {
  readonly codecId: string;
  readonly query: Float32Array;
  /** The query in the codec's internal domain (rotated for rotated codecs), float64. */
  readonly internal: Float64Array;
  /** Codec-specific lookup table (e.g. q'_block · codeword). */
  readonly table: Float64Array;

  constructor(codecId: string, dimension: number, tableLength: number) {
    this.codecId = codecId;
    this.query = new Float32Array(dimension);
    this.internal = new Float64Array(dimension);
    this.table = new Float64Array(tableLength);
  }
}

/**
 * Shared validation, block header and row plumbing. Subclasses implement one row decoder that both
 * `decode` and `decodeRow` call, so decodeRow(i) equals row i of decode bit for bit.
 */
export abstract class BaseCodec implements Codec {
  abstract readonly kind: AnyCodecKind;
  readonly spec: Readonly<CodecSpec>;
  readonly codecId: string;
  readonly dimension: number;
  readonly tokenGroup: number;
  private scratchQuery: QueryState | undefined;
  private codeScratch = new Uint32Array(0);

  protected constructor(spec: CodecSpec, codecId: string, tokenGroup: number) {
    this.spec = Object.freeze({ ...spec });
    this.codecId = codecId;
    this.dimension = spec.dimension;
    this.tokenGroup = tokenGroup;
  }

  /** Bytes after the header for `count` rows. */
  protected abstract payloadByteLength(count: number): number;
  /** Of the payload, the bytes of the codes; the rest is side information. Default: all of it (fp32, fp16). */
  protected codeByteLength(count: number): number {
    return this.payloadByteLength(count);
  }
  /** Writes the payload of validated, finite vectors into data (header already written). */
  protected abstract encodePayload(vectors: Float32Array, count: number, data: Uint8Array): void;
  /** Decodes row `row` of a validated block into out[outOffset ..]. */
  protected abstract decodeRowInto(data: Uint8Array, count: number, row: number, out: Float32Array, outOffset: number): void;
  /** Length of {@link QueryState.table} this codec needs. */
  protected abstract queryTableLength(): number;
  /** Fills state.internal / state.table from state.query. */
  protected abstract prepareState(state: QueryState): void;
  protected abstract scoresInto(state: QueryState, data: Uint8Array, count: number, out: Float32Array): void;
  protected abstract accumulateInto(weights: Float32Array, data: Uint8Array, count: number, accumulator: Float32Array): void;

  /** Per-instance code buffer of at least `length` entries, grown on demand (encode-time scratch). */
  protected codeBuffer(length: number): Uint32Array {
    if (this.codeScratch.length < length) this.codeScratch = new Uint32Array(Math.max(length, this.codeScratch.length * 2));
    return this.codeScratch;
  }

  bitsPerElement(count = defaultBlockRows): number {
    if (!Number.isInteger(count) || count < 1) {
      throw new CodecError("wrong-length", `bitsPerElement needs a positive integer row count, got ${count}`);
    }
    return (this.encodedByteLength(count) * 8) / (count * this.dimension);
  }

  encodedByteLength(count: number): number {
    if (!Number.isInteger(count) || count < 0 || count > maxRows) {
      throw new CodecError("wrong-length", `row count must be an integer in [0, ${maxRows}], got ${count}`);
    }
    return blockHeaderBytes + this.payloadByteLength(count);
  }

  byteLayout(count: number): BlockByteLayout {
    const total = this.encodedByteLength(count);
    const codeBytes = this.codeByteLength(count);
    return { headerBytes: blockHeaderBytes, codeBytes, sideBytes: total - blockHeaderBytes - codeBytes };
  }

  encode(vectors: Float32Array, count: number, dimension: number): EncodedBlock {
    if (!(vectors instanceof Float32Array)) throw new CodecError("wrong-length", "vectors must be a Float32Array");
    if (dimension !== this.dimension) {
      throw new CodecError("wrong-length", `${this.codecId}: dimension ${dimension} does not match the codec's ${this.dimension}`);
    }
    const data = new Uint8Array(this.encodedByteLength(count));
    if (vectors.length < count * dimension) {
      throw new CodecError("wrong-length", `${this.codecId}: ${count} rows × ${dimension} need ${count * dimension} floats, got ${vectors.length}`);
    }
    for (let index = 0; index < count * dimension; index++) {
      const value = vectors[index];
      if (value - value !== 0) {
        throw new CodecError("non-finite", `${this.codecId}: row ${Math.floor(index / dimension)} holds ${value} at column ${index % dimension}`);
      }
    }
    writeUint32(data, 0, (count | (kindTags[this.kind] << 24)) >>> 0);
    this.encodePayload(vectors, count, data);
    return { codecId: this.codecId, count, dimension, data };
  }

  /** Checks a block against this codec and returns its row count. */
  protected checkBlock(block: EncodedBlock): number {
    if (block.codecId !== this.codecId) {
      throw new CodecError("codec-mismatch", `block was written by ${block.codecId}, not ${this.codecId}`);
    }
    if (block.dimension !== this.dimension) {
      throw new CodecError("corrupt-block", `block dimension ${block.dimension} does not match ${this.dimension}`);
    }
    const data = block.data;
    if (data.length < blockHeaderBytes) throw new CodecError("corrupt-block", `block of ${data.length} bytes has no header`);
    const header = readUint32(data, 0);
    const count = header & maxRows;
    if (header >>> 24 !== kindTags[this.kind] || count !== block.count) {
      throw new CodecError("corrupt-block", `block header (${count} rows, tag ${header >>> 24}) does not match ${block.count} rows of ${this.kind}`);
    }
    if (data.length !== this.encodedByteLength(count)) {
      throw new CodecError("corrupt-block", `block of ${count} rows must be ${this.encodedByteLength(count)} bytes, got ${data.length}`);
    }
    return count;
  }

  /** Rebuilds a block from its bytes alone (e.g. after storage); validates the header. */
  blockFromBytes(data: Uint8Array): EncodedBlock {
    const count = data.length >= blockHeaderBytes ? readUint32(data, 0) & maxRows : 0;
    const block = { codecId: this.codecId, count, dimension: this.dimension, data };
    this.checkBlock(block);
    return block;
  }

  decode(block: EncodedBlock, out?: Float32Array): Float32Array {
    const count = this.checkBlock(block);
    const length = count * this.dimension;
    const target = out ?? new Float32Array(length);
    if (target.length < length) throw new CodecError("wrong-length", `out has ${target.length} floats, need ${length}`);
    for (let row = 0; row < count; row++) this.decodeRowInto(block.data, count, row, target, row * this.dimension);
    return target;
  }

  decodeRow(block: EncodedBlock, row: number, out?: Float32Array): Float32Array {
    const count = this.checkBlock(block);
    if (!Number.isInteger(row) || row < 0 || row >= count) {
      throw new CodecError("wrong-length", `row ${row} is outside [0, ${count})`);
    }
    const target = out ?? new Float32Array(this.dimension);
    if (target.length < this.dimension) throw new CodecError("wrong-length", `out has ${target.length} floats, need ${this.dimension}`);
    this.decodeRowInto(block.data, count, row, target, 0);
    return target;
  }

  private fillState(state: QueryState, query: Float32Array): void {
    if (!(query instanceof Float32Array) || query.length !== this.dimension) {
      throw new CodecError("wrong-length", `${this.codecId}: query must be a Float32Array of length ${this.dimension}`);
    }
    for (let index = 0; index < query.length; index++) {
      const value = query[index];
      if (value - value !== 0) throw new CodecError("non-finite", `${this.codecId}: query holds ${value} at ${index}`);
    }
    state.query.set(query);
    this.prepareState(state);
  }

  prepareQuery(query: Float32Array): PreparedQuery {
    const state = new QueryState(this.codecId, this.dimension, this.queryTableLength());
    this.fillState(state, query);
    return state;
  }

  scores(query: Float32Array | PreparedQuery, block: EncodedBlock, out?: Float32Array): Float32Array {
    let state: QueryState;
    if (query instanceof Float32Array) {
      this.scratchQuery ??= new QueryState(this.codecId, this.dimension, this.queryTableLength());
      state = this.scratchQuery;
      this.fillState(state, query);
    } else if (query instanceof QueryState && query.codecId === this.codecId) {
      state = query;
    } else {
      throw new CodecError("codec-mismatch", `prepared query of ${query.codecId} cannot score blocks of ${this.codecId}`);
    }
    const count = this.checkBlock(block);
    const target = out ?? new Float32Array(count);
    if (target.length < count) throw new CodecError("wrong-length", `out has ${target.length} floats, need ${count}`);
    this.scoresInto(state, block.data, count, target);
    return target;
  }

  accumulate(weights: Float32Array, block: EncodedBlock, accumulator: Float32Array): void {
    const count = this.checkBlock(block);
    if (weights.length < count) throw new CodecError("wrong-length", `weights has ${weights.length} entries, need ${count}`);
    if (accumulator.length !== this.dimension) {
      throw new CodecError("wrong-length", `accumulator must have length ${this.dimension}, got ${accumulator.length}`);
    }
    this.accumulateInto(weights, block.data, count, accumulator);
  }

  /** Identity by default; rotated codecs apply Rᵀ. */
  finishAccumulator(accumulator: Float32Array, out: Float32Array): Float32Array {
    if (accumulator.length !== this.dimension || out.length !== this.dimension) {
      throw new CodecError("wrong-length", `accumulator and out must have length ${this.dimension}`);
    }
    if (out !== accumulator) out.set(accumulator);
    return out;
  }
}
