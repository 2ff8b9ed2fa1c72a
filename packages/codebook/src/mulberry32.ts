/**
 * Mulberry32: a tiny seeded generator of uniforms in [0, 1). Not for sampling the source (that is
 * `createRandom`), but for cheap reproducible choices shared across packages: rotation signs and
 * permutations in the codecs, and the same test and benchmark data on every kernel backend.
 */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
