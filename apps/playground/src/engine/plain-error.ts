export interface PlainError {
  /** One or two sentences a person can act on. */
  readonly message: string;
  /** The technical message, shown under "details". */
  readonly detail: string;
}

const formatCodeMessages: Record<string, string> = {
  truncated: "The model file is cut short, so it cannot be read. It may not have finished downloading; try the file again.",
  "bad-header": "The model file's header does not make sense, so this is probably not a model file of the kind its name says.",
  "bad-magic": "This file is not a model the playground can read. Use a llama2.c .bin checkpoint, a GGUF file or an ONNX decoder.",
  unsupported: "This model uses a variant of its format that the playground cannot run yet.",
  "missing-tensor": "The model file is missing some of the weights a Llama model needs.",
  "bad-shape": "Some weights in the model file have the wrong size for the model they describe.",
  "non-finite": "The model's weights contain invalid numbers (NaN or infinity), so it cannot produce text.",
  "bad-metadata": "The model file's description (metadata) is incomplete or inconsistent.",
  "fetch-failed": "The model file could not be downloaded.",
};

function hasCode(value: unknown): value is { code: string; name?: string; message: string } {
  return typeof value === "object" && value !== null && typeof (value as { code?: unknown }).code === "string";
}

/** Turns any thrown value into words for the page: what happened and what to do about it. */
export function toPlainError(error: unknown): PlainError {
  const detail = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const message = error instanceof Error ? error.message : String(error);
  const name = error instanceof Error ? error.name : "";
  if (name === "ModelFormatError" && hasCode(error)) {
    // The loader's own words name the file and the field ("config.json: hidden_size must be …"): they follow the plain sentence.
    return { message: `${formatCodeMessages[error.code] ?? "The model file could not be read."} ${error.message}.`.replace(/\.\.$/, "."), detail };
  }
  if (name === "SettingsError" || name === "PlaygroundError") return { message, detail };
  if (/allocation failed|out of memory|invalid typed array length|invalid array buffer length|array buffer allocation/i.test(message)) {
    return { message: "The browser ran out of memory for this model. Try a smaller model, fewer steps, or close other tabs.", detail };
  }
  if (/webgpu/i.test(message) && /not (available|supported)|no adapter|requestAdapter/i.test(message)) {
    return { message: "WebGPU is not available in this browser, so the playground runs on the CPU (WASM or plain JavaScript) instead.", detail };
  }
  if (name === "ModelArgumentError" || name === "CodecError" || name === "CacheError") {
    return { message: `The settings were rejected: ${message}`, detail };
  }
  return { message: `Something went wrong: ${message}`, detail };
}

/** An error whose message is already written for the person using the page. */
export class PlaygroundError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PlaygroundError";
  }
}
