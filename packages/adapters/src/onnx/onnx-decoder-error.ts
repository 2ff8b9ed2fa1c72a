const marker = Symbol.for("kvpack.adapters.onnx-decoder-error");

export type OnnxDecoderErrorCode =
  /** ONNX Runtime could not be imported (onnxruntime-node not installed, wrong platform). */
  | "runtime-unavailable"
  /** ONNX Runtime rejected the model bytes or path. */
  | "invalid-model"
  /** The model lacks an input or output of the decoder-with-past layout. */
  | "missing-input"
  | "missing-output"
  /** An input or output has the wrong element type or rank, or a dimension that cannot be derived. */
  | "bad-signature"
  /** The KVCache or the tokens do not fit the model. */
  | "bad-argument"
  /** ONNX Runtime failed while running the model. */
  | "run-failed";

/** Thrown by the ONNX Runtime decoder adapter; the message says which input, output or argument is wrong. */
export class OnnxDecoderError extends Error {
  readonly code: OnnxDecoderErrorCode;
  private readonly [marker] = true;

  constructor(code: OnnxDecoderErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "OnnxDecoderError";
    this.code = code;
  }

  static isInstance(value: unknown): value is OnnxDecoderError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }
}
