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
  // K-quants: rows of whole 256-value super-blocks (SmolLM2's 576-wide rows are not, so a
  // 576 × 1536 ffn_down is the K-quant shape there; 1536 × 576 cannot be Q4_K/Q6_K).
  { name: "q4_k 3×256", seed: 88, format: "q4_k", rows: 3, columns: 256 },
  { name: "q4_k 576×1536 resident", seed: 89, format: "q4_k", rows: 576, columns: 1536, resident: true },
  { name: "q4_k 1537×256", seed: 90, format: "q4_k", rows: 1537, columns: 256 },
  { name: "q4_k 77×768", seed: 91, format: "q4_k", rows: 77, columns: 768 },
  { name: "q6_k 3×256", seed: 92, format: "q6_k", rows: 3, columns: 256 },
  { name: "q6_k 576×1536 resident", seed: 93, format: "q6_k", rows: 576, columns: 1536, resident: true },
  { name: "q6_k 1537×256", seed: 94, format: "q6_k", rows: 1537, columns: 256 },
  { name: "q6_k 77×768", seed: 95, format: "q6_k", rows: 77, columns: 768 },
  { name: "q4_1 5×32", seed: 96, format: "q4_1", rows: 5, columns: 32 },
  { name: "q4_1 1537×576 resident", seed: 97, format: "q4_1", rows: 1537, columns: 576, resident: true },
  { name: "q4_1 577×1536", seed: 98, format: "q4_1", rows: 577, columns: 1536 },
  { name: "q5_0 5×32", seed: 99, format: "q5_0", rows: 5, columns: 32 },
  { name: "q5_0 1537×576 resident", seed: 100, format: "q5_0", rows: 1537, columns: 576, resident: true },
  { name: "q5_0 577×1536", seed: 101, format: "q5_0", rows: 577, columns: 1536 },
  { name: "f16 7×8", seed: 86, format: "f16", rows: 7, columns: 8 },
  { name: "f16 64×576 resident", seed: 87, format: "f16", rows: 64, columns: 576, resident: true },
];
