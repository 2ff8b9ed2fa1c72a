export interface FrontierPoint {
  /** Compression ratio versus fp16 (higher is smaller). */
  readonly x: number;
  /** Fidelity, e.g. attention output cosine (higher is better). */
  readonly y: number;
}

/**
 * Indices of the points no other point beats on both axes (larger x and larger y are better),
 * sorted by x ascending: the memory–fidelity frontier.
 */
export function paretoFrontier(points: readonly FrontierPoint[]): number[] {
  const order = points
    .map((_, index) => index)
    .filter((index) => Number.isFinite(points[index].x) && Number.isFinite(points[index].y))
    .sort((a, b) => points[b].x - points[a].x || points[b].y - points[a].y);
  const frontier: number[] = [];
  let bestY = -Infinity;
  // Walking from the highest ratio down, a point is on the frontier when it beats every point
  // with a larger ratio on fidelity.
  for (const index of order) {
    if (points[index].y > bestY) {
      frontier.push(index);
      bestY = points[index].y;
    }
  }
  return frontier.reverse();
}
