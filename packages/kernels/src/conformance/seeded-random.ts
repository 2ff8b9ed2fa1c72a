/** Mulberry32 (from @kvpack/codebook), so every backend sees the same case data. */
export { mulberry32 as seededRandom } from "@kvpack/codebook";

/** Standard normal samples (Box–Muller). */
export function gaussianArray(random: () => number, length: number, scale = 1): Float32Array {
  const out = new Float32Array(length);
  for (let index = 0; index < length; index++) {
    const u = 1 - random();
    const v = random();
    out[index] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}
