/** OpenAI error categories, as sent in `error.type`. */
export type ApiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "server_error";

export interface ApiErrorBody {
  error: { message: string; type: ApiErrorType; param: string | null; code: string | null };
}

const marker = Symbol.for("kvpack.server.ApiError");

/** An error the client caused or must know about; becomes `{ error: { message, type, param, code } }`. */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly [marker] = true;
  readonly status: number;
  readonly type: ApiErrorType;
  readonly code: string | null;
  readonly param: string | null;
  /** Seconds, for 429 and 503 answers. */
  readonly retryAfterSeconds?: number;

  constructor(
    status: number,
    message: string,
    options: { type?: ApiErrorType; code?: string | null; param?: string | null; retryAfterSeconds?: number } = {},
  ) {
    super(message);
    this.status = status;
    this.type = options.type ?? defaultType(status);
    this.code = options.code ?? null;
    this.param = options.param ?? null;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  static isInstance(value: unknown): value is ApiError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[marker] === true;
  }

  toBody(): ApiErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

function defaultType(status: number): ApiErrorType {
  if (status === 401) return "authentication_error";
  if (status === 403) return "permission_error";
  if (status === 404) return "not_found_error";
  if (status === 429) return "rate_limit_error";
  if (status >= 500) return "server_error";
  return "invalid_request_error";
}

export function invalidRequest(message: string, param: string | null = null, code: string | null = "invalid_value"): ApiError {
  return new ApiError(400, message, { param, code });
}
