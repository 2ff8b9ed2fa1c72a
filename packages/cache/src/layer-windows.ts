/**
 * Checks a per-layer sliding-window list (KVCacheShape.layerWindows): one entry per layer, each a
 * positive integer or undefined (full attention). Returns undefined when no layer has a window.
 */
export function checkLayerWindows(windows: readonly (number | undefined)[] | undefined, layers: number, owner: string, error: (message: string) => Error = (message) => new RangeError(message)): readonly (number | undefined)[] | undefined {
  if (windows === undefined) return undefined;
  if (windows.length !== layers) throw error(`${owner}: layerWindows needs one entry per layer (${layers}), got ${windows.length}`);
  for (const [layer, window] of windows.entries()) {
    if (window !== undefined && !(Number.isInteger(window) && window > 0)) {
      throw error(`${owner}: layer ${layer} window must be a positive integer or undefined, got ${window}`);
    }
  }
  return windows.some((window) => window !== undefined) ? [...windows] : undefined;
}
