/** GGUF metadata value types (gguf.md, GGUF v3). */
export const GgufValueType = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const;
export type GgufValueTypeName = keyof typeof GgufValueType;

/** ggml tensor types this package reads (ggml.h numbering). */
export const GgmlType = {
  F32: 0,
  F16: 1,
  Q4_0: 2,
  Q4_1: 3,
  Q8_0: 8,
  BF16: 30,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;

/** Elements per block and bytes per block of each supported ggml type. */
export const ggmlTypeLayout: Record<number, { readonly name: GgmlTypeName; readonly blockSize: number; readonly blockBytes: number }> = {
  [GgmlType.F32]: { name: "F32", blockSize: 1, blockBytes: 4 },
  [GgmlType.F16]: { name: "F16", blockSize: 1, blockBytes: 2 },
  [GgmlType.BF16]: { name: "BF16", blockSize: 1, blockBytes: 2 },
  // d (f16) + 32 int8.
  [GgmlType.Q8_0]: { name: "Q8_0", blockSize: 32, blockBytes: 34 },
  // d (f16) + 16 bytes of 4-bit codes.
  [GgmlType.Q4_0]: { name: "Q4_0", blockSize: 32, blockBytes: 18 },
  // d (f16) + m (f16) + 16 bytes of 4-bit codes.
  [GgmlType.Q4_1]: { name: "Q4_1", blockSize: 32, blockBytes: 20 },
};

export type GgufValue = number | bigint | boolean | string | GgufValue[];
