/**
 * Pareto frontier of points where both coordinates are better when larger (e.g. compression ratio
 * and attention cosine): a point is kept when no other point is at least as good on both and
 * strictly better on one. Returned in increasing x.
 */
export function paretoFrontier<Point>(points: readonly Point[], x: (point: Point) => number, y: (point: Point) => number): Point[] {
  for (const point of points) {
    if (!Number.isFinite(x(point)) || !Number.isFinite(y(point))) throw new RangeError(`paretoFrontier: point with non-finite coordinates (${x(point)}, ${y(point)})`);
  }
  // Sweep from the largest x down; keep a point when its y beats every y seen at a larger (or equal) x.
  const sorted = [...points].sort((a, b) => x(b) - x(a) || y(b) - y(a));
  const frontier: Point[] = [];
  let bestY = -Infinity;
  for (const point of sorted) {
    if (y(point) > bestY) {
      frontier.push(point);
      bestY = y(point);
    }
  }
  return frontier.reverse();
}
