import type { z } from "zod";
import { ApiError } from "../http/api-error.js";

/** Parses a JSON body against a request schema; the first issue becomes a 400 naming its field. */
export function validateBody<Schema extends z.ZodType>(schema: Schema, body: unknown): z.infer<Schema> {
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new ApiError(400, "the request body must be a JSON object", { code: "invalid_body" });
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const param = issue.path.map(String).join(".") || null;
  const code = issue.code === "invalid_type" ? "invalid_type" : issue.code === "unrecognized_keys" ? "unknown_parameter" : "invalid_value";
  const missing = issue.code === "invalid_type" && valueAt(body, issue.path) === undefined;
  const message = missing ? `missing required parameter '${param}'` : `invalid parameter${param ? ` '${param}'` : ""}: ${issue.message}`;
  throw new ApiError(400, message, { param, code: missing ? "missing_required_parameter" : code });
}

function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let current = value;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}
