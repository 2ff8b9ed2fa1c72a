/**
 * Typed errors of @kvpack/cache. Each class carries a brand so `isInstance` works across bundle
 * copies (two copies of the package in one app make `instanceof` unreliable).
 */
const cacheErrorBrand = Symbol.for("@kvpack/cache/error");

export class KVCacheError extends Error {
  readonly [cacheErrorBrand] = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "KVCacheError";
  }

  static isInstance(value: unknown): value is KVCacheError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[cacheErrorBrand] === true;
  }
}

/** Bad options or arguments: wrong lengths, NaN/Inf, out-of-range positions, unsupported settings. */
export class CacheConfigurationError extends KVCacheError {
  constructor(message: string) {
    super(message);
    this.name = "CacheConfigurationError";
  }

  static override isInstance(value: unknown): value is CacheConfigurationError {
    return KVCacheError.isInstance(value) && value.name === "CacheConfigurationError";
  }
}

/**
 * A page read back from a tier failed verification (checksum, magic, length, codec mismatch).
 * The bytes are never used: the caller recomputes the page's tokens.
 */
export class CorruptPageError extends KVCacheError {
  readonly key: string | undefined;
  readonly reason: string;
  constructor(reason: string, key?: string) {
    super(`corrupt page${key === undefined ? "" : ` ${key}`}: ${reason}`);
    this.name = "CorruptPageError";
    this.key = key;
    this.reason = reason;
  }

  static override isInstance(value: unknown): value is CorruptPageError {
    return KVCacheError.isInstance(value) && value.name === "CorruptPageError";
  }
}

/** A saved session could not be restored (bad magic, unknown version, checksum mismatch, truncation). */
export class SessionFormatError extends KVCacheError {
  constructor(message: string) {
    super(message);
    this.name = "SessionFormatError";
  }

  static override isInstance(value: unknown): value is SessionFormatError {
    return KVCacheError.isInstance(value) && value.name === "SessionFormatError";
  }
}

/** An operation needs a page that is not resident (offloaded) or no longer exists. */
export class PageStateError extends KVCacheError {
  constructor(message: string) {
    super(message);
    this.name = "PageStateError";
  }

  static override isInstance(value: unknown): value is PageStateError {
    return KVCacheError.isInstance(value) && value.name === "PageStateError";
  }
}
