import { CacheConfigurationError } from "../errors.js";

/** The fixed shape of a compressed cache, checked once at construction and shared by every part. */
export interface CacheLayout {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** Tokens per page. */
  readonly pageSize: number;
  /** Full-precision residual window R (0 or a multiple of pageSize). */
  readonly residualWindow: number;
  /** Rows the residual window holds per KV head before it flushes: max(R, pageSize). */
  readonly flushAt: number;
  readonly maxTokens: number;
}

export function checkPositiveInteger(name: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) throw new CacheConfigurationError(`${name} must be a positive integer, got ${value}`);
}

export function cacheLayout(options: {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly pageSize?: number;
  readonly residualWindow?: number;
  readonly maxTokens?: number;
}): CacheLayout {
  checkPositiveInteger("layers", options.layers);
  checkPositiveInteger("kvHeads", options.kvHeads);
  checkPositiveInteger("headDim", options.headDim);
  const pageSize = options.pageSize ?? 32;
  checkPositiveInteger("pageSize", pageSize);
  const residualWindow = options.residualWindow ?? 32;
  if (!(Number.isInteger(residualWindow) && residualWindow >= 0 && residualWindow % pageSize === 0)) {
    throw new CacheConfigurationError(`residualWindow must be 0 or a multiple of pageSize ${pageSize}, got ${residualWindow}`);
  }
  return {
    layers: options.layers,
    kvHeads: options.kvHeads,
    headDim: options.headDim,
    pageSize,
    residualWindow,
    flushAt: Math.max(residualWindow, pageSize),
    maxTokens: options.maxTokens ?? Number.MAX_SAFE_INTEGER,
  };
}

/** Rejects NaN and ±Infinity: one such key or value would poison every softmax of its layer. */
export function checkFinite(name: string, values: Float32Array): void {
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    // value - value is NaN for NaN and ±Infinity.
    if (value - value !== 0) throw new CacheConfigurationError(`${name}[${i}] is ${value}; keys and values must be finite`);
  }
}
