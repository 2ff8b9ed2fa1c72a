import type { Codec, EncodedBlock } from "./codec.js";
import { Fp16Codec, Fp32Codec } from "./float-codecs.js";
import { SphericalCodec } from "./spherical-codec.js";

/**
 * A codec's blocks as attention kernels read them. Spherical codecs (TurboQuant, FibQuant, centered
 * or not) become "table" views: codes repacked at a power-of-two width (1, 2, 4 or 8 bits, so one
 * byte holds whole codes and a per-byte lookup table scores it), fp32 norms, the codewords in the
 * rotated domain and the rotated block mean Rμ. fp32/fp16 become "dense" fp32 rows (fp16 also as its stored half bits). Other codecs
 * (KIVI, QuaRot, int8, FibQuant with more than 256 codewords) have no view: callers keep the
 * codec's own scores/accumulate for them.
 */
export type KernelCodecView = TableCodecView | DenseCodecView;

export interface TableRows {
  /** count × rowBytes; code i of a row sits in byte ⌊i / codesPerByte⌋ at bit (i mod codesPerByte)·bitWidth. */
  readonly codes: Uint8Array;
  readonly norms: Float32Array;
  /** Rμ (rotated block mean) for centered codecs. */
  readonly mean: Float32Array | undefined;
}

export interface TableCodecView {
  readonly kind: "table";
  readonly codec: Codec;
  readonly dimension: number;
  /** Codewords per code (N, or 2^bits for TurboQuant). */
  readonly radix: number;
  readonly blockSize: number;
  readonly codesPerRow: number;
  readonly bitWidth: 1 | 2 | 4 | 8;
  readonly rowBytes: number;
  /** radix × blockSize, float32. */
  readonly codewords: Float32Array;
  readonly centered: boolean;
  /** out = R · query: the domain table scores use (q·k̂ = norm · Σ table + q'·Rμ). */
  rotate(query: Float32Array, out: Float32Array): void;
  /** An accumulator in the rotated domain back to vectors (Rᵀ). */
  finish(accumulator: Float32Array, out: Float32Array): Float32Array;
  rows(block: EncodedBlock): TableRows;
}

export interface DenseCodecView {
  readonly kind: "dense";
  readonly codec: Codec;
  readonly dimension: number;
  /** count × dimension fp32 rows (fp16 widens exactly). */
  rows(block: EncodedBlock): Float32Array;
  /** fp16 only: the same rows as their half bits, without widening and narrowing them again. */
  halfBits?(block: EncodedBlock): Uint16Array;
}

const views = new WeakMap<Codec, KernelCodecView | null>();

function bitWidthFor(radix: number): 1 | 2 | 4 | 8 | undefined {
  if (radix <= 2) return 1;
  if (radix <= 4) return 2;
  if (radix <= 16) return 4;
  if (radix <= 256) return 8;
  return undefined;
}

function tableView(codec: SphericalCodec): TableCodecView | undefined {
  const bitWidth = bitWidthFor(codec.radix);
  if (bitWidth === undefined) return undefined;
  const { codewords, blockSize } = codec.codewordTable();
  const codesPerByte = 8 / bitWidth;
  const codesPerRow = codec.codesPerRow;
  const rowBytes = Math.ceil(codesPerRow / codesPerByte);
  const dimension = codec.dimension;
  return {
    kind: "table",
    codec,
    dimension,
    radix: codec.radix,
    blockSize,
    codesPerRow,
    bitWidth,
    rowBytes,
    codewords: Float32Array.from(codewords),
    centered: codec.center,
    rotate: (query, out) => codec.rotate(query, out),
    finish: (accumulator, out) => codec.finishAccumulator(accumulator, out),
    rows: (block) => {
      const parts = codec.blockParts(block);
      const count = block.count;
      const codes = new Uint8Array(count * rowBytes);
      for (let row = 0; row < count; row++) {
        for (let i = 0; i < codesPerRow; i++) {
          codes[row * rowBytes + Math.floor(i / codesPerByte)] |= parts.codes[row * codesPerRow + i] << ((i % codesPerByte) * bitWidth);
        }
      }
      let mean: Float32Array | undefined;
      if (parts.mean !== undefined) {
        mean = new Float32Array(dimension);
        codec.rotate(parts.mean, mean);
      }
      return { codes, norms: parts.norms, mean };
    },
  };
}

/** The kernel view of a codec, or undefined when kernels cannot read its blocks (cached per codec). */
export function kernelCodecView(codec: Codec): KernelCodecView | undefined {
  const cached = views.get(codec);
  if (cached !== undefined) return cached ?? undefined;
  let view: KernelCodecView | undefined;
  if (codec instanceof SphericalCodec) view = tableView(codec);
  else if (codec instanceof Fp16Codec) {
    view = { kind: "dense", codec, dimension: codec.dimension, rows: (block) => codec.decode(block), halfBits: (block) => codec.halfBits(block) };
  } else if (codec instanceof Fp32Codec) {
    view = { kind: "dense", codec, dimension: codec.dimension, rows: (block) => codec.decode(block) };
  }
  views.set(codec, view ?? null);
  return view;
}
