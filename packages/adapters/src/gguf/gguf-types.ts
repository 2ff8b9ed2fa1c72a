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
  Q5_0: 6,
  Q5_1: 7,
  Q8_0: 8,
  Q2_K: 10,
  Q3_K: 11,
  Q4_K: 12,
  Q5_K: 13,
  Q6_K: 14,
  Q8_K: 15,
  IQ4_NL: 20,
  IQ4_XS: 23,
  BF16: 30,
} as const;
export type GgmlTypeName = keyof typeof GgmlType;

/** Elements per block and bytes per block of each supported ggml type (ggml-common.h block structs, QK_K = 256). */
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
  // d (f16) + qh[4] + qs[16].
  [GgmlType.Q5_0]: { name: "Q5_0", blockSize: 32, blockBytes: 22 },
  // d (f16) + m (f16) + qh[4] + qs[16].
  [GgmlType.Q5_1]: { name: "Q5_1", blockSize: 32, blockBytes: 24 },
  // scales[16] + qs[64] + d + dmin.
  [GgmlType.Q2_K]: { name: "Q2_K", blockSize: 256, blockBytes: 84 },
  // hmask[32] + qs[64] + scales[12] + d.
  [GgmlType.Q3_K]: { name: "Q3_K", blockSize: 256, blockBytes: 110 },
  // d + dmin + scales[12] + qs[128].
  [GgmlType.Q4_K]: { name: "Q4_K", blockSize: 256, blockBytes: 144 },
  // d + dmin + scales[12] + qh[32] + qs[128].
  [GgmlType.Q5_K]: { name: "Q5_K", blockSize: 256, blockBytes: 176 },
  // ql[128] + qh[64] + scales[16] + d.
  [GgmlType.Q6_K]: { name: "Q6_K", blockSize: 256, blockBytes: 210 },
  // d (f32) + qs[256] + bsums[16] (int16).
  [GgmlType.Q8_K]: { name: "Q8_K", blockSize: 256, blockBytes: 292 },
  // d (f16) + qs[16].
  [GgmlType.IQ4_NL]: { name: "IQ4_NL", blockSize: 32, blockBytes: 18 },
  // d (f16) + scales_h (u16) + scales_l[4] + qs[128].
  [GgmlType.IQ4_XS]: { name: "IQ4_XS", blockSize: 256, blockBytes: 136 },
};

export type GgufValue = number | bigint | boolean | string | GgufValue[];
