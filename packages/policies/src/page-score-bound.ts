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

/**
 * q·c for the centre c = (keyMin + keyMax)/2 of the page's box: the score of a key in the middle
 * of the page, an estimate rather than a bound. An empty box gives −∞.
 */
export function pageScoreCenter(query: Float32Array, queryOffset: number, keyMin: Float32Array, keyMax: Float32Array, headDim: number): number {
  let score = 0;
  for (let i = 0; i < headDim; i++) {
    const low = keyMin[i];
    const high = keyMax[i];
    if (low > high) return -Infinity;
    score += query[queryOffset + i] * 0.5 * (low + high);
  }
  return score;
}
