/**
 * Upper bound of q·k over every key k inside the per-channel box [keyMin, keyMax]:
 * Σᵢ max(qᵢ·keyMinᵢ, qᵢ·keyMaxᵢ). Each term is the largest qᵢ·kᵢ a channel can reach, so the
 * sum bounds every key of the page (ArkVale's page digest bound, Chen et al. 2024).
 * Reads `headDim` floats of `query` from `queryOffset`. An empty box (min > max) gives −∞.
 */
export function pageScoreBound(query: Float32Array, queryOffset: number, keyMin: Float32Array, keyMax: Float32Array, headDim: number): number {
  let bound = 0;
  for (let i = 0; i < headDim; i++) {
    const low = keyMin[i];
    const high = keyMax[i];
    if (low > high) return -Infinity;
    const q = query[queryOffset + i];
    const a = q * low;
    const b = q * high;
    bound += a > b ? a : b;
  }
  return bound;
}
