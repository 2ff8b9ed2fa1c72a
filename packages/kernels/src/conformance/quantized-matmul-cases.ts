import type { WeightFormat } from "../kernel-inputs.js";

/**
 * Conformance cases for `quantizedMatmul`, run by every backend that lists the format in
 * `weightFormats` and compared with the ts oracle (quantized-matmul-reference.ts) at the backend's
 * precision. Weights are random valid blocks (random i8 / nibbles, random fp16 scales), so every code
 * value and sign occurs; shapes include SmolLM2's row lengths (576, 1536).
 */
export interface QuantizedMatmulCase {
  readonly name: string;
  readonly seed: number;
  readonly format: WeightFormat;
  readonly rows: number;
  readonly columns: number;
  readonly resident?: boolean;
}

export const quantizedMatmulCases: readonly QuantizedMatmulCase[] = [
  { name: "q8_0 5×32", seed: 80, format: "q8_0", rows: 5, columns: 32 },
  { name: "q8_0 64×576 resident", seed: 81, format: "q8_0", rows: 64, columns: 576, resident: true },
  { name: "q8_0 9×1536", seed: 82, format: "q8_0", rows: 9, columns: 1536 },
  { name: "q4_0 5×32", seed: 83, format: "q4_0", rows: 5, columns: 32 },
  { name: "q4_0 64×576 resident", seed: 84, format: "q4_0", rows: 64, columns: 576, resident: true },
  { name: "q4_0 9×1536", seed: 85, format: "q4_0", rows: 9, columns: 1536 },
  { name: "f16 7×8", seed: 86, format: "f16", rows: 7, columns: 8 },
  { name: "f16 64×576 resident", seed: 87, format: "f16", rows: 64, columns: 576, resident: true },
];
