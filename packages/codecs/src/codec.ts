/**
 * The one interface every kvpack codec implements.
 *
 * A codec turns `count` vectors of `dimension` floats (one token of one KV head each) into an
 * {@link EncodedBlock} whose `data` holds everything needed to reconstruct them: codes, norms,
 * scales, metadata. Nothing lives outside `data`, so a block can be written to disk or Redis
 * and read back with only the codec's {@link CodecSpec}.
 *
 * Attention never needs a dense copy: `scores` computes q·k̂ for every row through per-block
 * lookup tables, and `accumulate` adds Σ wᵢ·v̂ᵢ in the codec's internal (rotated) domain;
 * `finishAccumulator` maps that sum back once per decoding step.
 */
/** The parts of one encoded block's bytes; headerBytes + codeBytes + sideBytes = encodedByteLength(count). */
export interface BlockByteLayout {
  readonly headerBytes: number;
  /** The quantized coordinates (or, for fp16 / fp32, the values). */
  readonly codeBytes: number;
  /** Per-row norms, per-row or per-group scales and zero points, block means. */
  readonly sideBytes: number;
}

export interface EncodedBlock {
  /** `CodecSpec`-derived identifier of the codec that wrote this block (see `codecId`). */
  readonly codecId: string;
  /** Number of vectors (rows) in the block. */
  readonly count: number;
  /** Length of each vector. */
  readonly dimension: number;
  /** All bytes of the block: the exact memory cost of storing it. */
  readonly data: Uint8Array;
}

/** Opaque per-query state (rotated query, lookup tables) reused across the blocks of one step. */
export interface PreparedQuery {
  readonly codecId: string;
  readonly query: Float32Array;
}

/** kvpack's own codec families (the ones the server and playground offer by rate). */
export type CodecKind = "fibquant" | "turboquant" | "kivi" | "quarot" | "int8" | "fp16" | "fp32";

/** llama.cpp's KV cache types, fixed-rate blocks of 32 (see ggml-blocks.ts). */
export type GgmlKvType = "q8_0" | "q4_0" | "q4_1" | "q5_0";

/** Every codec kind `createCodec` builds. */
export type AnyCodecKind = CodecKind | GgmlKvType;

/** How per-vector norms (FibQuant, TurboQuant) are stored. `log8`/`log6`/`log4`: b-bit log-scale code per row. */
export type NormFormat = "fp32" | "fp16" | "bf16" | "log8" | "log6" | "log4";

/** Plain JSON description from which `createCodec` rebuilds the same codec. */
export type CodecSpec =
  | {
      kind: "fibquant";
      dimension: number;
      /** Bits per coordinate for the codes alone; N = round(2^(blockSize·bits)). Fractional and < 1 allowed. */
      bits: number;
      /** Vector block length k (2, 3, 4, 8 …). */
      blockSize: number;
      norm?: NormFormat;
      seed?: number;
      /** Subtract each block's per-channel mean (fp16, counted in the bits) before quantizing. */
      center?: boolean;
      /** Store the least-squares gain ‖x‖·(y·ŷ)/‖ŷ‖² instead of ‖x‖ (same bits, lower error). */
      rescale?: boolean;
    }
  | { kind: "turboquant"; dimension: number; bits: number; norm?: NormFormat; seed?: number; center?: boolean; rescale?: boolean }
  | {
      kind: "kivi";
      dimension: number;
      bits: 2 | 4;
      /** "key": per-channel quantization over groups of tokens; "value": per-token over groups of channels. */
      role: "key" | "value";
      groupSize?: number;
    }
  | { kind: "quarot"; dimension: number; bits?: 4 | 3 | 2; clipRatio?: number; seed?: number }
  | { kind: "int8"; dimension: number }
  | { kind: "fp16"; dimension: number }
  | { kind: "fp32"; dimension: number }
  | { kind: GgmlKvType; dimension: number };

export interface Codec {
  readonly spec: Readonly<CodecSpec>;
  /** Stable identifier derived from the spec, stored in every block it writes. */
  readonly codecId: string;
  readonly kind: AnyCodecKind;
  readonly dimension: number;
  /**
   * Rows that must be encoded together (KIVI keys quantize per channel over groups of tokens).
   * 1 for per-token codecs. `encode` accepts any count; a block is most compact at a multiple.
   */
  readonly tokenGroup: number;
  /** Exact all-in bits per element (codes + norms + scales + metadata) of a block of `count` rows. */
  bitsPerElement(count?: number): number;
  /** Exact byte length of the `data` of a block of `count` rows. */
  encodedByteLength(count: number): number;
  /**
   * Where the `encodedByteLength(count)` bytes of a block go: its header, the codes (the quantized
   * coordinates themselves), and side information (norms, scales, zero points, block means).
   * Optional for codecs outside this package; every codec here has it.
   */
  byteLayout?(count: number): BlockByteLayout;
  encode(vectors: Float32Array, count: number, dimension: number): EncodedBlock;
  decode(block: EncodedBlock, out?: Float32Array): Float32Array;
  /** Row i of `decode(block)`, bit for bit, without decoding the rest. */
  decodeRow(block: EncodedBlock, row: number, out?: Float32Array): Float32Array;
  prepareQuery(query: Float32Array): PreparedQuery;
  /** q·k̂ for every row of the block, from codes (lookup tables), without a full decode. */
  scores(query: Float32Array | PreparedQuery, block: EncodedBlock, out?: Float32Array): Float32Array;
  /** accumulator += Σᵢ weights[i]·v̂ᵢ, in the codec's internal domain (length `dimension`). */
  accumulate(weights: Float32Array, block: EncodedBlock, accumulator: Float32Array): void;
  /** Maps an accumulator from the internal domain back to vectors (inverse rotation); may alias. */
  finishAccumulator(accumulator: Float32Array, out: Float32Array): Float32Array;
}
