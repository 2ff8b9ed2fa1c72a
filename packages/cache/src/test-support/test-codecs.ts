import type { BlockByteLayout, Codec, CodecSpec, EncodedBlock, PreparedQuery } from "@kvpack/codecs";

/**
 * Tiny codecs for the cache's own tests only (the real ones live in @kvpack/codecs).
 * - "fp32": raw little-endian floats, exact.
 * - "int8": per-row absmax int8 (4-byte fp32 scale + 1 byte per element), lossy.
 * Both keep values in a sign-flipped "internal domain" when `flip` is set, so tests catch a
 * cache that forgets finishAccumulator or mixes accumulators of different codecs.
 */
export interface TestCodecOptions {
  readonly kind: "fp32" | "int8";
  readonly dimension: number;
  readonly flip?: boolean;
}

class TestCodec implements Codec {
  readonly spec: Readonly<CodecSpec>;
  readonly codecId: string;
  readonly kind: "fp32" | "int8";
  readonly dimension: number;
  readonly tokenGroup = 1;
  private readonly sign: number;
  private readonly rowBytes: number;

  constructor(options: TestCodecOptions) {
    this.kind = options.kind;
    this.dimension = options.dimension;
    this.sign = options.flip ? -1 : 1;
    this.spec = { kind: options.kind, dimension: options.dimension } as CodecSpec;
    this.codecId = `test-${options.kind}-d${options.dimension}${options.flip ? "-flip" : ""}`;
    this.rowBytes = options.kind === "fp32" ? options.dimension * 4 : 4 + options.dimension;
  }

  bitsPerElement(): number {
    return (this.rowBytes * 8) / this.dimension;
  }

  encodedByteLength(count: number): number {
    return count * this.rowBytes;
  }

  /** No block header; int8's per-row scale is side information. */
  byteLayout(count: number): BlockByteLayout {
    const sideBytes = this.kind === "int8" ? 4 * count : 0;
    return { headerBytes: 0, codeBytes: count * this.rowBytes - sideBytes, sideBytes };
  }

  encode(vectors: Float32Array, count: number, dimension: number): EncodedBlock {
    if (dimension !== this.dimension || vectors.length < count * dimension) throw new RangeError("test codec: bad shape");
    const data = new Uint8Array(count * this.rowBytes);
    const view = new DataView(data.buffer);
    for (let row = 0; row < count; row++) {
      const base = row * this.rowBytes;
      if (this.kind === "fp32") {
        for (let i = 0; i < dimension; i++) view.setFloat32(base + i * 4, this.sign * vectors[row * dimension + i], true);
      } else {
        let scale = 0;
        for (let i = 0; i < dimension; i++) scale = Math.max(scale, Math.abs(vectors[row * dimension + i]));
        scale /= 127;
        view.setFloat32(base, scale, true);
        for (let i = 0; i < dimension; i++) {
          const code = scale === 0 ? 0 : Math.round((this.sign * vectors[row * dimension + i]) / scale);
          view.setInt8(base + 4 + i, code);
        }
      }
    }
    return { codecId: this.codecId, count, dimension, data };
  }

  /** Internal-domain element i of row `row`. */
  private internal(view: DataView, row: number, i: number): number {
    const base = row * this.rowBytes;
    if (this.kind === "fp32") return view.getFloat32(base + i * 4, true);
    return Math.fround(view.getFloat32(base, true) * view.getInt8(base + 4 + i));
  }

  private viewOf(block: EncodedBlock): DataView {
    if (block.codecId !== this.codecId) throw new Error(`test codec ${this.codecId} got block of ${block.codecId}`);
    return new DataView(block.data.buffer, block.data.byteOffset, block.data.byteLength);
  }

  decode(block: EncodedBlock, out?: Float32Array): Float32Array {
    const result = out ?? new Float32Array(block.count * this.dimension);
    for (let row = 0; row < block.count; row++) this.decodeRow(block, row, result.subarray(row * this.dimension, (row + 1) * this.dimension));
    return result;
  }

  decodeRow(block: EncodedBlock, row: number, out?: Float32Array): Float32Array {
    const view = this.viewOf(block);
    const result = out ?? new Float32Array(this.dimension);
    for (let i = 0; i < this.dimension; i++) result[i] = this.sign * this.internal(view, row, i);
    return result;
  }

  prepareQuery(query: Float32Array): PreparedQuery {
    const rotated = new Float32Array(this.dimension);
    for (let i = 0; i < this.dimension; i++) rotated[i] = this.sign * query[i];
    return { codecId: this.codecId, query: rotated };
  }

  scores(query: Float32Array | PreparedQuery, block: EncodedBlock, out?: Float32Array): Float32Array {
    const prepared = query instanceof Float32Array ? this.prepareQuery(query) : query;
    const view = this.viewOf(block);
    const result = out ?? new Float32Array(block.count);
    for (let row = 0; row < block.count; row++) {
      let dot = 0;
      for (let i = 0; i < this.dimension; i++) dot += prepared.query[i] * this.internal(view, row, i);
      result[row] = dot;
    }
    return result;
  }

  accumulate(weights: Float32Array, block: EncodedBlock, accumulator: Float32Array): void {
    const view = this.viewOf(block);
    for (let row = 0; row < block.count; row++) {
      const weight = weights[row];
      if (weight === 0) continue;
      for (let i = 0; i < this.dimension; i++) accumulator[i] += weight * this.internal(view, row, i);
    }
  }

  finishAccumulator(accumulator: Float32Array, out: Float32Array): Float32Array {
    for (let i = 0; i < this.dimension; i++) out[i] = this.sign * accumulator[i];
    return out;
  }
}

export function createTestCodec(options: TestCodecOptions): Codec {
  return new TestCodec(options);
}

/** Codec factory for CodecRegistry: specs {kind: "fp32" | "int8", dimension}. */
export function testCodecFactory(spec: CodecSpec): Codec {
  if (spec.kind !== "fp32" && spec.kind !== "int8") throw new Error(`test factory: unsupported ${spec.kind}`);
  return createTestCodec({ kind: spec.kind, dimension: spec.dimension });
}

/** Deterministic pseudo-random floats in [−1, 1) (mulberry32), so tests need no fixtures. */
export function seededFloats(length: number, seed: number): Float32Array {
  let state = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  }
  return out;
}
