const marker = Symbol.for("kvpack.adapters.model-format-error");

/** Which file format (or input) a ModelFormatError is about. */
export type ModelFormat = "llama2c-checkpoint" | "llama2c-tokenizer" | "gguf" | "safetensors" | "config" | "gpt2-tokenizer" | "source" | "model-folder" | "tokenizer-json" | "onnx";

export type ModelFormatErrorCode =
  | "truncated"
  | "bad-header"
  | "bad-magic"
  | "unsupported"
  | "missing-tensor"
  | "bad-shape"
  | "non-finite"
  | "bad-metadata"
  | "fetch-failed";

/** Thrown when a model, tokenizer or config file is corrupt, truncated or unsupported; the message names what is wrong. */
export class ModelFormatError extends Error {
  readonly format: ModelFormat;
  readonly code: ModelFormatErrorCode;
  private readonly [marker] = true;

  constructor(format: ModelFormat, code: ModelFormatErrorCode, message: string) {
    super(message);
    this.name = "ModelFormatError";
    this.format = format;
    this.code = code;
  }

  static isInstance(value: unknown): value is ModelFormatError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}

const argumentMarker = Symbol.for("kvpack.adapters.model-argument-error");

/** Thrown for bad arguments to a runtime, tokenizer or generation call (token out of range, NaN option, ...). */
export class ModelArgumentError extends Error {
  private readonly [argumentMarker] = true;

  constructor(message: string) {
    super(message);
    this.name = "ModelArgumentError";
  }

  static isInstance(value: unknown): value is ModelArgumentError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[argumentMarker] === true;
  }
}
