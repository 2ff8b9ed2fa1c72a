/** Thrown when the configured model cannot be found or read; main.ts reports it and exits. */
export class ModelLoadError extends Error {
  override readonly name = "ModelLoadError";
}
