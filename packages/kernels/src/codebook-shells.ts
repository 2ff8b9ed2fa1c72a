import type { CodebookInput } from "./kernel-inputs.js";

/**
 * A codebook sorted by codeword norm ("shells" of the radial–angular structure), so encode can
 * start at the input block's radius and stop as soon as the radius gap alone rules the rest out:
 * ‖y − c‖² ≥ (‖y‖ − ‖c‖)², an exact bound, so the pruned search returns the brute-force answer.
 * For scalar codebooks (k = 1) the "radius" is the signed level, so the same search is a binary
 * search that checks the one or two neighbouring levels.
 */
export interface CodebookShells {
  readonly size: number;
  readonly blockSize: number;
  /** Codeword norms (k = 1: signed levels), ascending. */
  readonly radii: Float32Array;
  /** Codewords in radius order (`size × blockSize`). */
  readonly sortedCodewords: Float32Array;
  /** Original index of each sorted codeword. */
  readonly order: Uint16Array;
}

const shellsCache = new WeakMap<Float32Array, Map<number, CodebookShells>>();

export function prepareShells(codebook: CodebookInput): CodebookShells {
  const { codewords, blockSize } = codebook;
  let byBlockSize = shellsCache.get(codewords);
  const cached = byBlockSize?.get(blockSize);
  if (cached) return cached;
  const size = codewords.length / blockSize;
  const norms = new Float64Array(size);
  for (let code = 0; code < size; code++) {
    let sum = 0;
    for (let j = 0; j < blockSize; j++) sum += codewords[code * blockSize + j] ** 2;
    norms[code] = blockSize === 1 ? codewords[code] : Math.sqrt(sum);
  }
  const indices = Array.from({ length: size }, (_, code) => code).sort(
    (a, b) => norms[a] - norms[b] || a - b,
  );
  const shells: CodebookShells = {
    size,
    blockSize,
    radii: Float32Array.from(indices, (code) => norms[code]),
    sortedCodewords: new Float32Array(size * blockSize),
    order: Uint16Array.from(indices),
  };
  indices.forEach((code, rank) => {
    (shells.sortedCodewords as Float32Array).set(
      codewords.subarray(code * blockSize, (code + 1) * blockSize),
      rank * blockSize,
    );
  });
  if (!byBlockSize) {
    byBlockSize = new Map();
    shellsCache.set(codewords, byBlockSize);
  }
  byBlockSize.set(blockSize, shells);
  return shells;
}

/**
 * Index (into the sorted order) of the codeword nearest to `block[offset .. offset+blockSize)`
 * scaled by `scale`; searches outward from the block's radius. `visits.count` (optional) adds the
 * number of codewords whose distance was computed.
 */
export function nearestInShells(
  shells: CodebookShells,
  block: Float32Array,
  offset: number,
  scale: number,
  visits?: { count: number },
): number {
  const { radii, sortedCodewords, blockSize, size } = shells;
  let radiusSquared = 0;
  for (let j = 0; j < blockSize; j++) radiusSquared += (block[offset + j] * scale) ** 2;
  const radius = blockSize === 1 ? block[offset] * scale : Math.sqrt(radiusSquared);
  // First shell with radius ≥ the block's radius.
  let low = 0;
  let high = size;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (radii[middle] < radius) low = middle + 1;
    else high = middle;
  }
  let inner = low - 1;
  let outer = low;
  let best = -1;
  let bestDistance = Infinity;
  while (inner >= 0 || outer < size) {
    const innerGap = inner >= 0 ? radius - radii[inner] : Infinity;
    const outerGap = outer < size ? radii[outer] - radius : Infinity;
    const takeInner = innerGap <= outerGap;
    const gap = takeInner ? innerGap : outerGap;
    if (gap * gap >= bestDistance) break;
    const rank = takeInner ? inner-- : outer++;
    if (visits) visits.count++;
    let distance = 0;
    for (let j = 0; j < blockSize; j++) {
      const difference = block[offset + j] * scale - sortedCodewords[rank * blockSize + j];
      distance += difference * difference;
    }
    if (distance < bestDistance || (distance === bestDistance && shells.order[rank] < shells.order[best])) {
      bestDistance = distance;
      best = rank;
    }
  }
  return best;
}
