/** Mulberry32: small deterministic generator so every backend sees the same case data. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

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
