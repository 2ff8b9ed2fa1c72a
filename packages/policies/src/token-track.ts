/**
 * Per layer × KV head bookkeeping of a token-level policy: one score per position and which
 * positions the policy has evicted. Grows by doubling, so decide() does no per-step allocation.
 */
export class TokenTrack {
  scores = new Float64Array(64);
  live = new Uint8Array(64).fill(1);
  /** Positions evicted so far (live = length − evicted). */
  evicted = 0;

  grow(length: number): void {
    if (length <= this.scores.length) return;
    const capacity = Math.max(length, this.scores.length * 2);
    const scores = new Float64Array(capacity);
    scores.set(this.scores);
    const live = new Uint8Array(capacity).fill(1);
    live.set(this.live);
    this.scores = scores;
    this.live = live;
  }

  liveCount(length: number): number {
    return length - this.evicted;
  }

  evict(position: number): void {
    if (this.live[position] === 0) return;
    this.live[position] = 0;
    this.evicted += 1;
  }
}

/**
 * The `count` live positions in [from, to) with the lowest `priority` (ties: the older position),
 * ascending by position. Small counts scan, large ones sort.
 */
export function selectLowest(priority: ArrayLike<number>, live: Uint8Array, from: number, to: number, count: number): Int32Array {
  if (count <= 0 || to <= from) return new Int32Array(0);
  const chosen: number[] = [];
  if (count <= 8) {
    const taken = new Set<number>();
    for (let round = 0; round < count; round++) {
      let best = -1;
      let bestValue = Infinity;
      for (let position = from; position < to; position++) {
        if (!live[position] || taken.has(position)) continue;
        const value = priority[position];
        if (value < bestValue || best < 0) {
          best = position;
          bestValue = value;
        }
      }
      if (best < 0) break;
      taken.add(best);
      chosen.push(best);
    }
  } else {
    const candidates: number[] = [];
    for (let position = from; position < to; position++) if (live[position]) candidates.push(position);
    candidates.sort((a, b) => priority[a] - priority[b] || a - b);
    for (let i = 0; i < Math.min(count, candidates.length); i++) chosen.push(candidates[i]);
  }
  chosen.sort((a, b) => a - b);
  return Int32Array.from(chosen);
}

/**
 * Adds the attention of the query heads that read `kvHead` (GQA group) to `target`, scaled:
 * target[p] += scale · Σ_h weights[h][p].
 */
export function addGroupAttention(
  weights: Float32Array,
  heads: number,
  kvHeads: number,
  length: number,
  kvHead: number,
  target: Float64Array | Float32Array,
  scale = 1,
): void {
  const groupSize = heads / kvHeads;
  for (let head = kvHead * groupSize; head < (kvHead + 1) * groupSize; head++) {
    const row = head * length;
    for (let position = 0; position < length; position++) target[position] += scale * weights[row + position];
  }
}
