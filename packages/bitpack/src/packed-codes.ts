import { BitpackError } from "./bitpack-error.js";
import { CodeLayout } from "./code-layout.js";

const layouts = new Map<number, CodeLayout>();

/** Shared default layout (groups up to 52 bits) for a radix; created once and cached. */
export function codeLayout(radix: number): CodeLayout {
  let layout = layouts.get(radix);
  if (layout === undefined) {
    layout = new CodeLayout(radix);
    layouts.set(radix, layout);
  }
  return layout;
}

/** Radix of fixed-width codes of `width` bits (1..24). */
export function radixForWidth(width: number): number {
  if (!Number.isInteger(width) || width < 1 || width > 24) {
    throw new BitpackError("invalid-width", `width must be an integer in [1, 24], got ${width}`);
  }
  return 2 ** width;
}

/** Exact stored bits of `count` codes of radix `radix` in the default layout. */
export function packedBitLength(count: number, radix: number): number {
  return codeLayout(radix).bitLength(count);
}

/** Exact bytes of `count` codes of radix `radix` in the default layout (what codecs count all-in). */
export function packedByteLength(count: number, radix: number): number {
  return codeLayout(radix).byteLength(count);
}

/** Packs the first `count` codes (default: all) into a new byte array. */
export function packCodes(codes: ArrayLike<number>, radix: number, count = codes.length): Uint8Array {
  const layout = codeLayout(radix);
  const bytes = new Uint8Array(layout.byteLength(count));
  layout.pack(codes, count, bytes);
  return bytes;
}

/** Unpacks `count` codes of radix `radix`. */
export function unpackCodes(bytes: Uint8Array, radix: number, count: number, out = new Uint32Array(count)): Uint32Array {
  if (out.length < count) throw new BitpackError("buffer-too-small", `out has ${out.length} slots, need ${count}`);
  codeLayout(radix).unpack(bytes, 0, count, out);
  return out;
}

/** Code `index` of `count` packed codes, in O(1). */
export function readCode(bytes: Uint8Array, radix: number, count: number, index: number): number {
  if (!Number.isInteger(index) || index < 0 || index >= count) {
    throw new BitpackError("invalid-count", `index ${index} is outside [0, ${count})`);
  }
  return codeLayout(radix).read(bytes, 0, index, count);
}

/** Fixed-width packing of codes of `width` bits (1..24). */
export function packFixedWidth(codes: ArrayLike<number>, width: number, count = codes.length): Uint8Array {
  return packCodes(codes, radixForWidth(width), count);
}

/** Inverse of {@link packFixedWidth}. */
export function unpackFixedWidth(bytes: Uint8Array, width: number, count: number, out = new Uint32Array(count)): Uint32Array {
  return unpackCodes(bytes, radixForWidth(width), count, out);
}
