import type { FastifyInstance } from "fastify";
import { ApiError } from "../http/api-error.js";
import { sessionIdSchema } from "../openai/request-schemas.js";
import type { ServerContext } from "../server-context.js";

function sessionId(params: unknown): string {
  const parsed = sessionIdSchema.safeParse((params as { id?: unknown }).id);
  if (!parsed.success) throw new ApiError(400, `invalid session id: ${parsed.error.issues[0].message}`, { param: "id", code: "invalid_value" });
  return parsed.data;
}

/** GET / DELETE /v1/kvpack/sessions/:id — a key only ever sees and deletes its own sessions. */
export function registerSessionRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get("/v1/kvpack/sessions/:id", async (request) => {
    const { keyId } = context.authenticator.authenticate(request.headers.authorization);
    const id = sessionId(request.params);
    const info = context.sessions.describe(keyId, id);
    if (!info) throw new ApiError(404, `no session ${id} in memory for this API key`, { param: "id", code: "session_not_found" });
    return { id, object: "kvpack.session", tokens: info.tokens, kv_bytes: info.kvBytes, codec: info.codec, policy: info.policy, busy: info.busy, resident: info.resident };
  });

  app.delete("/v1/kvpack/sessions/:id", async (request) => {
    const { keyId } = context.authenticator.authenticate(request.headers.authorization);
    const id = sessionId(request.params);
    const deleted = await context.sessions.delete(keyId, id);
    if (!deleted) throw new ApiError(404, `no session ${id} for this API key`, { param: "id", code: "session_not_found" });
    return { id, object: "kvpack.session", deleted: true };
  });
}
