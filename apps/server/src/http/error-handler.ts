import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError } from "./api-error.js";

/** Fastify's own client errors (bad JSON, body too large, wrong content type…) mapped to OpenAI codes. */
const fastifyCodes: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: "invalid_json",
  FST_ERR_CTP_EMPTY_JSON_BODY: "invalid_json",
  FST_ERR_CTP_BODY_TOO_LARGE: "request_too_large",
  FST_ERR_CTP_INVALID_MEDIA_TYPE: "unsupported_media_type",
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: "invalid_content_length",
  FST_ERR_CTP_INVALID_TYPE: "invalid_content_type",
};

export function toApiError(error: unknown): ApiError {
  if (ApiError.isInstance(error)) return error;
  const fastifyError = error as Partial<FastifyError> & { status?: number; type?: string };
  const status = fastifyError.statusCode ?? fastifyError.status;
  if (typeof status === "number" && status >= 400 && status < 500) {
    let message = fastifyError.message ?? "bad request";
    let code = (fastifyError.code && fastifyCodes[fastifyError.code]) ?? "invalid_request";
    // JSON.parse messages (and raw-body errors) say what is wrong without echoing secrets.
    if (error instanceof SyntaxError || fastifyError.type === "entity.parse.failed") code = "invalid_json";
    if (code === "invalid_json") message = `malformed JSON body: ${message}`;
    return new ApiError(status, message, { code });
  }
  return new ApiError(500, "internal server error", { code: "internal_error" });
}

export function sendApiError(reply: FastifyReply, error: ApiError): FastifyReply {
  if (error.retryAfterSeconds !== undefined) reply.header("retry-after", String(Math.max(1, Math.ceil(error.retryAfterSeconds))));
  return reply.code(error.status).type("application/json; charset=utf-8").send(error.toBody());
}

export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const apiError = toApiError(error);
    if (apiError.status >= 500) request.log.error({ err: error }, "request failed");
    else request.log.debug({ code: apiError.code, message: apiError.message }, "client error");
    if (reply.sent || reply.raw.headersSent) {
      // A stream already started: end it; its own code wrote the error event when it could.
      if (!reply.raw.writableEnded) reply.raw.end();
      return;
    }
    return sendApiError(reply, apiError);
  });
  app.setNotFoundHandler((request, reply) =>
    sendApiError(reply, new ApiError(404, `no route ${request.method} ${request.url.split("?")[0].slice(0, 200)}`, { code: "unknown_route" })),
  );
}
