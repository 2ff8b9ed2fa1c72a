import { asUint8Array } from "../model/bytes.js";

/**
 * Random access to a model file's bytes without holding them all: GgufFile parses the header from a
 * prefix and reads each tensor only when asked, so a loader can copy tensors one at a time into
 * backend memory (as llama.cpp's mmap lets it) instead of keeping the whole file beside them.
 * `fileByteSource` (`@kvpack/adapters/node`) reads a file on disk; bytes in memory need no source.
 */
export interface GgufByteSource {
  readonly byteLength: number;
  /** `length` bytes from `offset`; callers never write into the result. */
  read(offset: number, length: number): Uint8Array;
  /** True when every read returns an array of its own (a file on disk), false or absent when reads are views. */
  readonly readsCopy?: boolean;
}

/** Bytes already in memory: reads are views, nothing is copied. */
export function memoryByteSource(bytes: ArrayBuffer | Uint8Array): GgufByteSource {
  const data = asUint8Array(bytes);
  return { byteLength: data.byteLength, read: (offset, length) => data.subarray(offset, offset + length) };
}

export function isByteSource(value: ArrayBuffer | Uint8Array | GgufByteSource): value is GgufByteSource {
  return !(value instanceof ArrayBuffer) && !ArrayBuffer.isView(value) && typeof (value as GgufByteSource).read === "function";
}
