/** Unaligned little-endian scalar access into block bytes without allocating DataViews. */

const float32 = new Float32Array(1);
const float32Bytes = new Uint8Array(float32.buffer);

export function writeUint16(data: Uint8Array, offset: number, value: number): void {
  data[offset] = value & 0xff;
  data[offset + 1] = (value >>> 8) & 0xff;
}

export function readUint16(data: Uint8Array, offset: number): number {
  return data[offset] | (data[offset + 1] << 8);
}

export function writeUint32(data: Uint8Array, offset: number, value: number): void {
  data[offset] = value & 0xff;
  data[offset + 1] = (value >>> 8) & 0xff;
  data[offset + 2] = (value >>> 16) & 0xff;
  data[offset + 3] = (value >>> 24) & 0xff;
}

export function readUint32(data: Uint8Array, offset: number): number {
  return (data[offset] | (data[offset + 1] << 8) | (data[offset + 2] << 16) | (data[offset + 3] << 24)) >>> 0;
}

export function writeFloat32(data: Uint8Array, offset: number, value: number): void {
  float32[0] = value;
  data[offset] = float32Bytes[0];
  data[offset + 1] = float32Bytes[1];
  data[offset + 2] = float32Bytes[2];
  data[offset + 3] = float32Bytes[3];
}

export function readFloat32(data: Uint8Array, offset: number): number {
  float32Bytes[0] = data[offset];
  float32Bytes[1] = data[offset + 1];
  float32Bytes[2] = data[offset + 2];
  float32Bytes[3] = data[offset + 3];
  return float32[0];
}
