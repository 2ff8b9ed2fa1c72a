import type { MatmulBatchInputs } from "../kernel-inputs.js";
import { requireFinite, requireFloatArray, requirePositiveInteger } from "../validate-inputs.js";

export function validateMatmulBatch(inputs: MatmulBatchInputs, backendName: string): void {
  requirePositiveInteger("matmulBatch", "count", inputs.count);
  requirePositiveInteger("matmulBatch", "rows", inputs.rows);
  requirePositiveInteger("matmulBatch", "columns", inputs.columns);
  requireFloatArray("matmulBatch", "matrix", inputs.matrix, inputs.rows * inputs.columns, backendName);
  requireFloatArray("matmulBatch", "vectors", inputs.vectors, inputs.count * inputs.columns, backendName);
  requireFinite("matmulBatch", "vectors", inputs.vectors);
}

/** out[v·rows + row] = Σ_c matrix[row·columns + c] · vectors[v·columns + c], float64 sums in matmulReference's order. */
export function matmulBatchReference(matrix: Float32Array, vectors: Float32Array, count: number, rows: number, columns: number): Float32Array {
  const out = new Float32Array(count * rows);
  for (let row = 0; row < rows; row++) {
    const base = row * columns;
    for (let v = 0; v < count; v++) {
      const input = v * columns;
      let sum = 0;
      for (let column = 0; column < columns; column++) sum += matrix[base + column] * vectors[input + column];
      out[v * rows + row] = sum;
    }
  }
  return out;
}
