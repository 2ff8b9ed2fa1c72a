import { createHash, timingSafeEqual } from "node:crypto";
import type { ApiKeyConfig } from "../config/server-config.js";
import { ApiError } from "../http/api-error.js";

/** The tenant a request acts for. Every session and prefix key includes `keyId`. */
export interface Principal {
  readonly keyId: string;
}

/** Key id used for every request when no API keys are configured (open local server). */
export const anonymousKeyId = "anonymous";

function digest(text: string): Buffer {
  return createHash("sha256").update(text, "utf8").digest();
}

/** Checks `Authorization: Bearer <key>` against the configured keys in constant time per key. */
export class ApiKeyAuthenticator {
  private readonly keys: { id: string; digest: Buffer }[];

  constructor(apiKeys: readonly ApiKeyConfig[]) {
    this.keys = apiKeys.map((apiKey) => ({ id: apiKey.id, digest: digest(apiKey.key) }));
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  authenticate(authorization: string | undefined): Principal {
    if (!this.enabled) return { keyId: anonymousKeyId };
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) {
      throw new ApiError(401, "missing API key: send 'Authorization: Bearer <key>'", { code: "missing_api_key" });
    }
    const presented = digest(match[1]);
    let found: string | undefined;
    // Compare against every key so timing does not reveal which one matched.
    for (const key of this.keys) if (timingSafeEqual(presented, key.digest) && found === undefined) found = key.id;
    if (found === undefined) throw new ApiError(401, "invalid API key", { code: "invalid_api_key" });
    return { keyId: found };
  }
}
