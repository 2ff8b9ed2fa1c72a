import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, type TestServer } from "./test-server.js";

const goodKey = "sk-test-alpha-0123456789";

function expectOpenAiError(response: { status: number; json: any }, status: number, code: string | null, param?: string): void {
  expect(response.status).toBe(status);
  expect(Object.keys(response.json)).toEqual(["error"]);
  expect(Object.keys(response.json.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof response.json.error.message).toBe("string");
  if (code !== null) expect(response.json.error.code).toBe(code);
  if (param !== undefined) expect(response.json.error.param).toBe(param);
}

describe("bad input gets a 4xx in the OpenAI error shape", () => {
  let testServer: TestServer;
  let baseUrl: string;
  const auth = { authorization: `Bearer ${goodKey}` };
  const good = { model: "stories260K", prompt: "Once upon a time", max_tokens: 4, kvpack: { codec: "fp32" } };

  beforeAll(async () => {
    testServer = await startTestServer({
      apiKeys: [{ id: "alpha", key: goodKey }],
      limits: { bodyBytes: 64 * 1024, maxTokens: 256, promptTokens: 400 },
    });
    baseUrl = testServer.baseUrl;
  });
  afterAll(() => testServer.close());

  it("accepts a good request", async () => {
    const response = await postJson(baseUrl, "/v1/completions", good, auth);
    expect(response.status).toBe(200);
    expect(response.json.object).toBe("text_completion");
  });

  it("needs a valid bearer token", async () => {
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", good), 401, "missing_api_key");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", good, { authorization: "Bearer sk-wrong-key-000000" }), 401, "invalid_api_key");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", good, { authorization: goodKey }), 401, "missing_api_key");
    const models = await fetch(`${baseUrl}/v1/models`);
    expect(models.status).toBe(401);
  });

  it("rejects malformed JSON, non-object bodies and wrong content types", async () => {
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", '{"model": "stories260K", "prompt": ', auth), 400, "invalid_json");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", "[1,2,3]", auth), 400, "invalid_body");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", "null", auth), 400, null);
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", '{"__proto__": {"x": 1}, "model": "stories260K"}', auth), 400, null);
    const text = await fetch(`${baseUrl}/v1/completions`, { method: "POST", headers: { ...auth, "content-type": "text/plain" }, body: "hello" });
    expectOpenAiError({ status: text.status, json: await text.json() }, 415, "unsupported_media_type");
  });

  it("names the field with the wrong type or value", async () => {
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, max_tokens: "ten" }, auth), 400, "invalid_type", "max_tokens");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, max_tokens: -1 }, auth), 400, "invalid_value", "max_tokens");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, max_tokens: 1.5 }, auth), 400, null, "max_tokens");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, max_tokens: 100_000 }, auth), 400, "invalid_value", "max_tokens");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, temperature: 3 }, auth), 400, null, "temperature");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, prompt: 42 }, auth), 400, null, "prompt");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, prompt: [999_999] }, auth), 400, "invalid_value", "prompt");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { prompt: "hi" }, auth), 400, "missing_required_parameter", "model");
    expectOpenAiError(await postJson(baseUrl, "/v1/chat/completions", { model: "stories260K", messages: [] }, auth), 400, null, "messages");
    expectOpenAiError(await postJson(baseUrl, "/v1/chat/completions", { model: "stories260K", messages: [{ role: "wizard", content: "x" }] }, auth), 400, null, "messages.0.role");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, n: 9 }, auth), 400, null, "n"); // over limits.maxChoices (8)
  });

  it("refuses an unknown model with 404 model_not_found", async () => {
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, model: "gpt-4" }, auth), 404, "model_not_found", "model");
  });

  it("refuses unsupported codecs, rates and policies", async () => {
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, kvpack: { codec: "zip" } }, auth), 400, null, "kvpack.codec");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, kvpack: { codec: "kivi", keyBits: 3 } }, auth), 400, "unsupported_rate", "kvpack.keyBits");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, kvpack: { codec: "turboquant", valueBits: 2.5 } }, auth), 400, "unsupported_rate", "kvpack.valueBits");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, kvpack: { codec: "fp16", keyBits: 4 } }, auth), 400, "unsupported_rate");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, kvpack: { policy: "telepathy" } }, auth), 400, "unsupported_policy", "kvpack.policy");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, kvpack: { codec: "fp32", unknown: 1 } }, auth), 400, null, "kvpack");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, kvpack: { session: "../etc/passwd" } }, auth), 400, null, "kvpack.session");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", good, { ...auth, "x-kvpack-session": "bad session id!" }), 400, null, "x-kvpack-session");
  });

  it("enforces the prompt, context and body size limits", async () => {
    // 600 repetitions of " the" tokenize to far more than the 400-token prompt limit.
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, prompt: " the".repeat(600) }, auth), 400, "context_length_exceeded", "prompt");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, prompt: Array.from({ length: 600 }, () => 5) }, auth), 400, "context_length_exceeded", "prompt");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...good, prompt: "x".repeat(80 * 1024) }, auth), 413, "request_too_large");
  });

  it("answers unknown routes and methods with 404 in the same shape", async () => {
    const response = await fetch(`${baseUrl}/v1/engines`, { headers: auth });
    expectOpenAiError({ status: response.status, json: await response.json() }, 404, "unknown_route");
    const wrongMethod = await fetch(`${baseUrl}/v1/completions`, { headers: auth });
    expect(wrongMethod.status).toBe(404);
  });

  it("keeps CORS off by default", async () => {
    const response = await fetch(`${baseUrl}/health`, { headers: { origin: "http://evil.example" } });
    expect(response.headers.get("access-control-allow-origin")).toBeNull();
    const preflight = await fetch(`${baseUrl}/v1/completions`, { method: "OPTIONS", headers: { origin: "http://evil.example", "access-control-request-method": "POST" } });
    expect(preflight.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("sends CORS headers only to configured origins when CORS is on", async () => {
    const withCors = await startTestServer({ corsOrigins: ["http://127.0.0.1:5173"] });
    try {
      const allowed = await fetch(`${withCors.baseUrl}/v1/completions`, {
        method: "OPTIONS",
        headers: { origin: "http://127.0.0.1:5173", "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" },
      });
      expect(allowed.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5173");
      const other = await fetch(`${withCors.baseUrl}/health`, { headers: { origin: "http://evil.example" } });
      expect(other.headers.get("access-control-allow-origin")).toBeNull();
      // Streams are written on the raw socket: they must carry the CORS header too.
      const stream = await fetch(`${withCors.baseUrl}/v1/completions`, {
        method: "POST",
        headers: { origin: "http://127.0.0.1:5173", "content-type": "application/json" },
        body: JSON.stringify({ model: "stories260K", prompt: "Hi", max_tokens: 2, stream: true, kvpack: { codec: "fp32" } }),
      });
      expect(stream.headers.get("access-control-allow-origin")).toBe("http://127.0.0.1:5173");
      expect(await stream.text()).toContain("data: [DONE]");
    } finally {
      await withCors.close();
    }
  });
});
