const marker = Symbol.for("kvpack.bitpack.error");

export type BitpackErrorCode = "invalid-width" | "invalid-radix" | "invalid-count" | "code-out-of-range" | "buffer-too-small";

/** Thrown for bad arguments: a width or radix outside the supported range, a code ≥ radix, a short buffer. */
export class BitpackError extends Error {
  readonly code: BitpackErrorCode;
  private readonly [marker] = true;

  constructor(code: BitpackErrorCode, message: string) {
    super(message);
    this.name = "BitpackError";
    this.code = code;
  }

  static isInstance(value: unknown): value is BitpackError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
