const marker = Symbol.for("kvpack.codebook.error");

export type CodebookErrorCode =
  | "invalid-argument"
  | "not-converged"
  | "invalid-format"
  | "unsupported-version";

/** Thrown for bad input (NaN/Inf, out-of-range sizes, wrong lengths), corrupt serialized data, or a numeric routine that failed to converge. */
export class CodebookError extends Error {
  readonly code: CodebookErrorCode;
  private readonly [marker] = true;

  constructor(code: CodebookErrorCode, message: string) {
    super(message);
    this.name = "CodebookError";
    this.code = code;
  }

  static isInstance(value: unknown): value is CodebookError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

/** Throws unless `value` is a finite number. */
export function assertFinite(name: string, value: number): void {
  if (typeof value !== "number" || !Number.isFinite(value)) {
    throw new CodebookError("invalid-argument", `${name} must be a finite number, got ${String(value)}`);
  }
}

/** Throws unless `value` is an integer in [minimum, maximum]. */
export function assertInteger(name: string, value: number, minimum: number, maximum = Number.MAX_SAFE_INTEGER): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < minimum || value > maximum) {
    throw new CodebookError("invalid-argument", `${name} must be an integer in [${minimum}, ${maximum}], got ${String(value)}`);
  }
}
