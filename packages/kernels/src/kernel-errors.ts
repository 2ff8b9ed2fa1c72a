const inputErrorMarker = Symbol.for("kvpack.kernels.KernelInputError");
const unavailableMarker = Symbol.for("kvpack.kernels.BackendUnavailableError");

/** Bad kernel input: wrong lengths, NaN/Inf, unsupported options, codes out of range. */
export class KernelInputError extends Error {
  private readonly [inputErrorMarker] = true;
  constructor(kernel: string, message: string) {
    super(`${kernel}: ${message}`);
    this.name = "KernelInputError";
  }
  static isInstance(error: unknown): error is KernelInputError {
    return typeof error === "object" && error !== null && inputErrorMarker in error;
  }
}

/** One backend that failed to initialise, as reported by `resolveBackend`. */
export interface BackendFailure {
  readonly name: string;
  readonly reason: string;
}

/** No requested backend could be initialised; `failures` lists every one with its reason. */
export class BackendUnavailableError extends Error {
  private readonly [unavailableMarker] = true;
  readonly failures: readonly BackendFailure[];
  constructor(failures: readonly BackendFailure[]) {
    const lines = failures.map((failure) => `  - ${failure.name}: ${failure.reason}`).join("\n");
    super(`No kernel backend could be initialised:\n${lines}`);
    this.name = "BackendUnavailableError";
    this.failures = failures;
  }
  static isInstance(error: unknown): error is BackendUnavailableError {
    return typeof error === "object" && error !== null && unavailableMarker in error;
  }
}
