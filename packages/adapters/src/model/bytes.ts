/** A view of `bytes` as a Uint8Array without copying. */
export function asUint8Array(bytes: ArrayBuffer | Uint8Array): Uint8Array {
  return bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
}

/**
 * `count` little-endian float32 values starting at `offset` of `bytes`: a zero-copy view when the
 * address is 4-byte aligned (the usual case), otherwise a copy.
 */
export function float32View(bytes: Uint8Array, offset: number, count: number): Float32Array {
  const address = bytes.byteOffset + offset;
  if (address % 4 === 0) return new Float32Array(bytes.buffer, address, count);
  const copy = new Uint8Array(count * 4);
  copy.set(bytes.subarray(offset, offset + count * 4));
  return new Float32Array(copy.buffer);
}

/** Index of the first NaN or ±Infinity in `values`, or -1. */
export function firstNonFinite(values: Float32Array): number {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value - value !== 0) return i;
  }
  return -1;
}
