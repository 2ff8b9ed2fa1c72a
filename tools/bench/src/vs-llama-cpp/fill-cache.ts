import type { KVCache } from "@kvpack/cache";

/** Noise with roughly the spread of real keys/values: `rows` + 1 rows of `kvDim`, cycled. */
function noiseRows(rows: number, kvDim: number): Float32Array {
  const noise = new Float32Array((rows + 1) * kvDim);
  let seed = 12345;
  for (let i = 0; i < noise.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    noise[i] = (seed / 4294967296 - 0.5) * 4;
  }
  return noise;
}

const noiseByWidth = new Map<number, Float32Array>();

/**
 * Appends synthetic rows (512 noise rows cycled, through the cache's own append, so encoded by its
 * codec) to every layer until the cache holds `target` tokens. A decode step's cost depends on the
 * cache length and codec, not on the rows' values.
 */
export function fillCache(cache: KVCache, target: number, kvDim: number): void {
  let noise = noiseByWidth.get(kvDim);
  if (noise === undefined) {
    noise = noiseRows(512, kvDim);
    noiseByWidth.set(kvDim, noise);
  }
  const rows = noise.length / kvDim - 1;
  for (let position = cache.length(0); position < target; position++) {
    for (let layer = 0; layer < cache.layers; layer++) {
      const row = (position * 7 + layer * 13) % rows;
      cache.append(layer, noise.subarray(row * kvDim, (row + 1) * kvDim), noise.subarray((row + 1) * kvDim, (row + 2) * kvDim));
    }
  }
}
