import type { NearestCodewordSearch } from "./nearest-codeword.js";

/**
 * Exact nearest-codeword search for large codebooks: codewords are grouped into about √N clusters (a few Lloyd
 * passes over the codewords, seeded from the norm-sorted order so radial shells are respected). With cluster centre
 * m_b, radius R_b and member offsets s_c = ‖c − m_b‖ (sorted), the triangle inequality gives
 * ‖x − c‖ ≥ ‖x − m_b‖ − R_b for the whole cluster and ‖x − c‖ ≥ |‖x − m_b‖ − s_c| per member, so most clusters are
 * skipped and, inside the others, only a window of members is measured. The cluster nearest to x is searched first.
 * Same distance arithmetic and tie-breaking as `nearestCodewordBruteForce`, so the answer is identical.
 */
export class ClusterNearestSearch implements NearestCodewordSearch {
  readonly size: number;
  readonly blockSize: number;
  readonly clusterCount: number;
  private readonly centres: Float64Array;
  private readonly clusterStart: Int32Array;
  private readonly clusterRadius: Float64Array;
  private readonly memberCodewords: Float64Array;
  private readonly memberIndex: Int32Array;
  private readonly memberOffset: Float64Array;
  private readonly centreSquaredDistances: Float64Array;
  private readonly absoluteSlack: number;
  lastVisited = 0;
  lastDistance = 0;

  constructor(codewords: ArrayLike<number>, size: number, blockSize: number, clusterCount = Math.max(1, Math.round(Math.sqrt(size)))) {
    this.size = size;
    this.blockSize = blockSize;
    const count = Math.min(size, clusterCount);
    this.clusterCount = count;
    const values = Float64Array.from({ length: size * blockSize }, (_, i) => codewords[i]);
    const squaredNorms = new Float64Array(size);
    let largest = 0;
    for (let index = 0; index < size; index++) {
      let squared = 0;
      for (let j = 0; j < blockSize; j++) squared += values[index * blockSize + j] ** 2;
      squaredNorms[index] = squared;
      largest = Math.max(largest, squared);
    }
    // Pruning is conservative by this much, so rounding in the bounds can never drop the true nearest codeword.
    this.absoluteSlack = 1e-12 * largest;
    const order = Array.from({ length: size }, (_, index) => index).sort((left, right) => squaredNorms[left] - squaredNorms[right] || left - right);
    const centres = new Float64Array(count * blockSize);
    for (let b = 0; b < count; b++) {
      const seedIndex = order[Math.floor(((b + 0.5) * size) / count)];
      for (let j = 0; j < blockSize; j++) centres[b * blockSize + j] = values[seedIndex * blockSize + j];
    }
    const assignment = new Int32Array(size);
    const sums = new Float64Array(count * blockSize);
    const counts = new Int32Array(count);
    for (let pass = 0; pass < 8; pass++) {
      sums.fill(0);
      counts.fill(0);
      for (let index = 0; index < size; index++) {
        let best = 0;
        let bestDistance = Infinity;
        for (let b = 0; b < count; b++) {
          let distance = 0;
          for (let j = 0; j < blockSize; j++) distance += (values[index * blockSize + j] - centres[b * blockSize + j]) ** 2;
          if (distance < bestDistance) {
            bestDistance = distance;
            best = b;
          }
        }
        assignment[index] = best;
        counts[best]++;
        for (let j = 0; j < blockSize; j++) sums[best * blockSize + j] += values[index * blockSize + j];
      }
      for (let b = 0; b < count; b++) {
        if (counts[b] > 0) for (let j = 0; j < blockSize; j++) centres[b * blockSize + j] = sums[b * blockSize + j] / counts[b];
      }
    }
    this.centres = centres;
    this.clusterStart = new Int32Array(count + 1);
    for (let b = 0; b < count; b++) this.clusterStart[b + 1] = this.clusterStart[b] + counts[b];
    const offsets = new Float64Array(size);
    for (let index = 0; index < size; index++) {
      const b = assignment[index];
      let distance = 0;
      for (let j = 0; j < blockSize; j++) distance += (values[index * blockSize + j] - centres[b * blockSize + j]) ** 2;
      offsets[index] = Math.sqrt(distance);
    }
    const memberOrder = Array.from({ length: size }, (_, index) => index).sort(
      (left, right) => assignment[left] - assignment[right] || offsets[left] - offsets[right] || left - right,
    );
    this.memberCodewords = new Float64Array(size * blockSize);
    this.memberIndex = new Int32Array(size);
    this.memberOffset = new Float64Array(size);
    this.clusterRadius = new Float64Array(count);
    for (let position = 0; position < size; position++) {
      const index = memberOrder[position];
      this.memberIndex[position] = index;
      this.memberOffset[position] = offsets[index];
      this.clusterRadius[assignment[index]] = Math.max(this.clusterRadius[assignment[index]], offsets[index]);
      for (let j = 0; j < blockSize; j++) this.memberCodewords[position * blockSize + j] = values[index * blockSize + j];
    }
    this.centreSquaredDistances = new Float64Array(count);
  }

  nearest(vector: Float32Array, offset: number): number {
    const { blockSize, clusterCount, centres, clusterRadius, clusterStart, memberOffset, memberCodewords, memberIndex } = this;
    const squaredToCentre = this.centreSquaredDistances;
    const slack = this.absoluteSlack;
    const x0 = vector[offset];
    const x1 = blockSize > 1 ? vector[offset + 1] : 0;
    const x2 = blockSize > 2 ? vector[offset + 2] : 0;
    const x3 = blockSize > 3 ? vector[offset + 3] : 0;
    let first = 0;
    let firstDistance = Infinity;
    for (let b = 0, base = 0; b < clusterCount; b++, base += blockSize) {
      let distance = 0;
      for (let j = 0; j < blockSize; j++) {
        const difference = vector[offset + j] - centres[base + j];
        distance += difference * difference;
      }
      squaredToCentre[b] = distance;
      if (distance < firstDistance) {
        firstDistance = distance;
        first = b;
      }
    }
    let bestDistance = Infinity;
    let bestIndex = -1;
    let visited = clusterCount;
    // reach = √(best·(1 + 1e-9) + slack): the largest distance a better codeword can have, rounded up.
    let reach = Infinity;
    for (let step = -1; step < clusterCount; step++) {
      const b = step < 0 ? first : step;
      if (step === first) continue;
      const radius = clusterRadius[b];
      // Skip the cluster when ‖x − m_b‖ > R_b + reach, tested on squares to avoid a square root.
      const limit = radius + reach;
      if (squaredToCentre[b] > limit * limit) continue;
      const toCentre = Math.sqrt(squaredToCentre[b]);
      const end = clusterStart[b + 1];
      let position = clusterStart[b];
      if (reach < Infinity) {
        // Members are sorted by offset; start at the first with s_c ≥ ‖x − m_b‖ − reach.
        const lowest = toCentre - reach;
        let high = end;
        while (position < high) {
          const middle = (position + high) >>> 1;
          if (memberOffset[middle] < lowest) position = middle + 1;
          else high = middle;
        }
      }
      for (; position < end; position++) {
        if (memberOffset[position] - toCentre > reach) break;
        const base = position * blockSize;
        let distance: number;
        if (blockSize === 4) {
          const d0 = x0 - memberCodewords[base];
          const d1 = x1 - memberCodewords[base + 1];
          const d2 = x2 - memberCodewords[base + 2];
          const d3 = x3 - memberCodewords[base + 3];
          distance = d0 * d0 + d1 * d1 + d2 * d2 + d3 * d3;
        } else {
          distance = 0;
          for (let j = 0; j < blockSize; j++) {
            const difference = vector[offset + j] - memberCodewords[base + j];
            distance += difference * difference;
          }
        }
        visited++;
        const index = memberIndex[position];
        if (distance < bestDistance || (distance === bestDistance && index < bestIndex)) {
          bestDistance = distance;
          bestIndex = index;
          reach = Math.sqrt(bestDistance * (1 + 1e-9) + slack);
        }
      }
    }
    this.lastVisited = visited;
    this.lastDistance = bestDistance;
    return bestIndex;
  }
}
