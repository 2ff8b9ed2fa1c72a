/**
 * MiniCache's merge of one token's vectors from two adjacent layers: directions interpolated by
 * SLERP, each layer keeps its own norm. Writes ‖b‖·slerp(â, b̂, t) into `out` (layer b's
 * reconstruction; layer a's is ‖a‖·slerp(â, b̂, t)) and returns the angle between a and b in
 * radians (π for a zero vector, so such tokens are always retained).
 * Source: Liu et al. 2024, "MiniCache: KV Cache Compression in Depth Dimension for Large Language Models" (arXiv:2405.14366).
 */
export function slerpMergeRow(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  dimension: number,
  t: number,
  out: Float32Array,
  outOffset: number,
): number {
  let normA = 0;
  let normB = 0;
  let dot = 0;
  for (let i = 0; i < dimension; i++) {
    normA += a[aOffset + i] * a[aOffset + i];
    normB += b[bOffset + i] * b[bOffset + i];
    dot += a[aOffset + i] * b[bOffset + i];
  }
  normA = Math.sqrt(normA);
  normB = Math.sqrt(normB);
  if (normA === 0 || normB === 0) return Math.PI;
  const cosine = Math.max(-1, Math.min(1, dot / (normA * normB)));
  const angle = Math.acos(cosine);
  const sine = Math.sin(angle);
  // Nearly parallel directions: SLERP tends to linear interpolation.
  const weightA = sine < 1e-6 ? 1 - t : Math.sin((1 - t) * angle) / sine;
  const weightB = sine < 1e-6 ? t : Math.sin(t * angle) / sine;
  let mergedNorm = 0;
  for (let i = 0; i < dimension; i++) {
    const value = (weightA * a[aOffset + i]) / normA + (weightB * b[bOffset + i]) / normB;
    out[outOffset + i] = value;
    mergedNorm += value * value;
  }
  // Renormalize the direction (exact SLERP is unit length; this guards rounding), then rescale.
  const scale = normB / Math.sqrt(mergedNorm);
  for (let i = 0; i < dimension; i++) out[outOffset + i] *= scale;
  return angle;
}
