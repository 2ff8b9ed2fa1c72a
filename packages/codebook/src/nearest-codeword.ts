import { CodebookError } from "./codebook-error.js";
import type { VectorCodebook } from "./vector-codebook.js";

/** Finds the index of the codeword nearest (squared Euclidean distance) to the block starting at `offset`. */
export interface NearestCodewordSearch {
  nearest(vector: Float32Array, offset: number): number;
}

/**
 * Reference search: every codeword, distance Σ_j (x_j − c_j)² accumulated in ascending j in double precision,
 * ties to the lowest index. The fast search uses the same arithmetic so both agree exactly.
 */
export function nearestCodewordBruteForce(codebook: VectorCodebook, vector: Float32Array, offset: number): number {
  const { blockSize, size, codewords } = codebook;
  checkOffset(vector, offset, blockSize);
  let bestIndex = 0;
  let bestDistance = Infinity;
  for (let index = 0; index < size; index++) {
    let distance = 0;
    const base = index * blockSize;
    for (let j = 0; j < blockSize; j++) {
      const difference = vector[offset + j] - codewords[base + j];
      distance += difference * difference;
    }
    if (distance < bestDistance) {
      bestDistance = distance;
      bestIndex = index;
    }
  }
  return bestIndex;
}

function checkOffset(vector: Float32Array, offset: number, blockSize: number): void {
  if (!Number.isInteger(offset) || offset < 0 || offset + blockSize > vector.length) {
    throw new CodebookError("invalid-argument", `offset ${offset} + blockSize ${blockSize} exceeds vector length ${vector.length}`);
  }
}

/**
 * Radial pruning: codewords sorted by norm; since ‖x − c‖ ≥ |‖x‖ − ‖c‖|, the search starts at the shell whose
 * norm is closest to ‖x‖ and walks outwards in both directions, stopping on a side once the norm gap alone
 * exceeds the best distance found. Lloyd-refined FibQuant codebooks keep their shell structure, so only the
 * codewords of a few neighbouring shells are visited.
 */
export class RadialNearestSearch implements NearestCodewordSearch {
  readonly blockSize: number;
  readonly size: number;
  private readonly sortedCodewords: Float64Array;
  private readonly sortedNorms: Float64Array;
  private readonly originalIndex: Int32Array;
  /** Codewords visited by the last `nearest` call (for measurements). */
  lastVisited = 0;

  constructor(codewords: ArrayLike<number>, size: number, blockSize: number) {
    this.blockSize = blockSize;
    this.size = size;
    const norms = new Float64Array(size);
    for (let index = 0; index < size; index++) {
      let squared = 0;
      for (let j = 0; j < blockSize; j++) squared += codewords[index * blockSize + j] ** 2;
      norms[index] = Math.sqrt(squared);
    }
    const order = Array.from({ length: size }, (_, index) => index).sort((left, right) => norms[left] - norms[right] || left - right);
    this.originalIndex = Int32Array.from(order);
    this.sortedNorms = new Float64Array(size);
    this.sortedCodewords = new Float64Array(size * blockSize);
    for (let position = 0; position < size; position++) {
      const index = order[position];
      this.sortedNorms[position] = norms[index];
      for (let j = 0; j < blockSize; j++) this.sortedCodewords[position * blockSize + j] = codewords[index * blockSize + j];
    }
  }

  /** Squared distance to the codeword returned by the last `nearest` call. */
  lastDistance = 0;

  nearest(vector: Float32Array | Float64Array, offset: number): number {
    const blockSize = this.blockSize;
    const codewords = this.sortedCodewords;
    const norms = this.sortedNorms;
    const originalIndex = this.originalIndex;
    let squaredNorm = 0;
    for (let j = 0; j < blockSize; j++) squaredNorm += vector[offset + j] * vector[offset + j];
    const norm = Math.sqrt(squaredNorm);
    // First position whose norm is ≥ ‖x‖.
    let low = 0;
    let high = this.size;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (norms[middle] < norm) low = middle + 1;
      else high = middle;
    }
    let inner = low - 1;
    let outer = low;
    let bestDistance = Infinity;
    let bestIndex = -1;
    let visited = 0;
    // Slack keeps a codeword whose rounded lower bound slightly exceeds its rounded exact distance.
    const slack = 1 + 1e-9;
    for (;;) {
      const innerGap = inner >= 0 ? norm - norms[inner] : Infinity;
      const outerGap = outer < this.size ? norms[outer] - norm : Infinity;
      let position: number;
      if (innerGap <= outerGap) {
        if (innerGap * innerGap > bestDistance * slack) break;
        position = inner--;
      } else {
        if (outerGap * outerGap > bestDistance * slack) break;
        position = outer++;
      }
      visited++;
      let distance = 0;
      const base = position * blockSize;
      for (let j = 0; j < blockSize; j++) {
        const difference = vector[offset + j] - codewords[base + j];
        distance += difference * difference;
      }
      const index = originalIndex[position];
      if (distance < bestDistance || (distance === bestDistance && index < bestIndex)) {
        bestDistance = distance;
        bestIndex = index;
      }
    }
    this.lastVisited = visited;
    this.lastDistance = bestDistance;
    return bestIndex;
  }
}

/** Fast nearest-codeword search for a codebook (radial pruning over norm-sorted codewords). */
export function createNearestCodewordSearch(codebook: VectorCodebook): NearestCodewordSearch {
  const search = new RadialNearestSearch(codebook.codewords, codebook.size, codebook.blockSize);
  return {
    nearest(vector: Float32Array, offset: number): number {
      checkOffset(vector, offset, codebook.blockSize);
      return search.nearest(vector, offset);
    },
  };
}
