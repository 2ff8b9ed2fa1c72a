/** A map from a data interval to a pixel interval, with its inverse and tick positions. */
export interface Scale {
  (value: number): number;
  readonly domain: readonly [number, number];
  readonly range: readonly [number, number];
  invert(pixel: number): number;
  ticks(count?: number): number[];
}

/** Round tick step (1, 2 or 5 times a power of ten) giving about `count` ticks over [minimum, maximum]. */
export function niceStep(minimum: number, maximum: number, count: number): number {
  const span = maximum - minimum;
  if (!(span > 0) || !(count > 0)) return 1;
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  const fraction = raw / power;
  const nice = fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10;
  return nice * power;
}

/** Ticks at multiples of a nice step inside [minimum, maximum]. */
export function linearTicks(minimum: number, maximum: number, count = 5): number[] {
  const step = niceStep(minimum, maximum, count);
  const ticks: number[] = [];
  const first = Math.ceil(minimum / step - 1e-9);
  const last = Math.floor(maximum / step + 1e-9);
  // Multiplying the integer index (not accumulating) keeps ticks like 0.3 exact to print.
  for (let index = first; index <= last; index++) ticks.push(Number((index * step).toPrecision(12)));
  return ticks;
}

export function linearScale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  const [r0, r1] = range;
  const span = d1 - d0 || 1;
  const scale = ((value: number) => r0 + ((value - d0) / span) * (r1 - r0)) as Scale;
  Object.assign(scale, {
    domain,
    range,
    invert: (pixel: number) => d0 + ((pixel - r0) / (r1 - r0 || 1)) * span,
    ticks: (count = 5) => linearTicks(Math.min(d0, d1), Math.max(d0, d1), count),
  });
  return scale;
}

/** Base-2 log scale: compression ratios double per step, so powers of two make the natural ticks. */
export function log2Scale(domain: readonly [number, number], range: readonly [number, number]): Scale {
  const [d0, d1] = domain;
  if (!(d0 > 0 && d1 > 0)) throw new RangeError(`log2Scale: domain must be positive, got [${d0}, ${d1}]`);
  const inner = linearScale([Math.log2(d0), Math.log2(d1)], range);
  const scale = ((value: number) => inner(Math.log2(value))) as Scale;
  Object.assign(scale, {
    domain,
    range,
    invert: (pixel: number) => 2 ** inner.invert(pixel),
    ticks: () => {
      const ticks: number[] = [];
      for (let exponent = Math.ceil(Math.log2(Math.min(d0, d1)) - 1e-9); exponent <= Math.floor(Math.log2(Math.max(d0, d1)) + 1e-9); exponent++) {
        ticks.push(2 ** exponent);
      }
      return ticks;
    },
  });
  return scale;
}

/** [min, max] of the finite values, widened by `padding` of the span on both sides (never empty). */
export function extent(values: Iterable<number>, padding = 0): [number, number] {
  let minimum = Infinity;
  let maximum = -Infinity;
  for (const value of values) {
    if (!Number.isFinite(value)) continue;
    if (value < minimum) minimum = value;
    if (value > maximum) maximum = value;
  }
  if (minimum === Infinity) return [0, 1];
  if (minimum === maximum) return [minimum - 0.5, maximum + 0.5];
  const pad = (maximum - minimum) * padding;
  return [minimum - pad, maximum + pad];
}
