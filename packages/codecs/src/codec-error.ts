const marker = Symbol.for("kvpack.codecs.error");

export type CodecErrorCode =
  | "invalid-spec"
  | "unsupported-rate"
  | "unsupported-dimension"
  | "wrong-length"
  | "non-finite"
  | "out-of-range"
  | "codec-mismatch"
  | "corrupt-block";

/** Every bad input to a codec (spec, vectors, blocks, queries) throws this, with a `code` to branch on. */
export class CodecError extends Error {
  readonly code: CodecErrorCode;
  private readonly [marker] = true;

  constructor(code: CodecErrorCode, message: string) {
    super(message);
    this.name = "CodecError";
    this.code = code;
  }

  static isInstance(value: unknown): value is CodecError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
