// Viridis, sampled at 9 evenly spaced stops (matplotlib's _viridis_data at indices 0, 32, …, 255).
const viridisStops: ReadonlyArray<readonly [number, number, number]> = [
  [68, 1, 84],
  [71, 44, 122],
  [59, 81, 139],
  [44, 113, 142],
  [33, 144, 141],
  [39, 173, 129],
  [92, 200, 99],
  [170, 220, 50],
  [253, 231, 37],
];

/** Viridis colour for t in [0, 1] (clamped; NaN maps to 0), as [r, g, b] bytes. */
export function viridis(t: number, out: Uint8ClampedArray | number[] = [0, 0, 0], offset = 0): Uint8ClampedArray | number[] {
  const clamped = Number.isNaN(t) ? 0 : Math.min(1, Math.max(0, t));
  const position = clamped * (viridisStops.length - 1);
  const index = Math.min(viridisStops.length - 2, Math.floor(position));
  const fraction = position - index;
  const from = viridisStops[index];
  const to = viridisStops[index + 1];
  for (let channel = 0; channel < 3; channel++) out[offset + channel] = Math.round(from[channel] + (to[channel] - from[channel]) * fraction);
  return out;
}

/** Diverging blue–white–red for t in [-1, 1]: used for dense − compressed differences. */
export function diverging(t: number, out: Uint8ClampedArray | number[] = [0, 0, 0], offset = 0): Uint8ClampedArray | number[] {
  const clamped = Number.isNaN(t) ? 0 : Math.min(1, Math.max(-1, t));
  const strength = Math.abs(clamped);
  const [r, g, b] = clamped >= 0 ? [214, 39, 40] : [31, 119, 180];
  out[offset] = Math.round(255 + (r - 255) * strength);
  out[offset + 1] = Math.round(255 + (g - 255) * strength);
  out[offset + 2] = Math.round(255 + (b - 255) * strength);
  return out;
}

/** A fixed categorical palette (Tableau 10) for codec families. */
export const categoricalColors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"] as const;
