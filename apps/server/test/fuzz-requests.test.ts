import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./test-server.js";
import { mulberry32 as seededRandom } from "@kvpack/codebook";


interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
}

const weirdValues: unknown[] = [
  null,
  true,
  -1,
  0,
  -0.5,
  1e308,
  -1e308,
  2 ** 53 + 1,
  "NaN",
  "",
  "x".repeat(5000),
  "\ud800\udfff\u0000\u202e",
  [],
  [null],
  [[1, [2, [3]]]],
  {},
  { nested: { deeper: [1, 2, 3] } },
  [-5],
  [1e9],
  ["a", "b", "c", "d", "e", "f"],
  { __proto__: { polluted: true } },
];

function generate(random: () => number): FuzzRequest {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
  const route = pick(["/v1/completions", "/v1/chat/completions", "/v1/completions", "/v1/chat/completions", "/v1/models", "/health", "/v1/x", "/%ff%fe", "/v1/completions?x=1"]);
  const base: Record<string, unknown> =
    route.includes("chat")
      ? { model: "stories260K", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 3 }
      : { model: "stories260K", prompt: "Once upon a time", max_tokens: 3 };
  const fields = ["model", "prompt", "messages", "max_tokens", "temperature", "top_p", "top_k", "n", "stream", "stop", "seed", "kvpack", "stream_options", "echo", "max_completion_tokens"];
  const kvpackFields = ["codec", "keyBits", "valueBits", "policy", "budget", "session", "residualWindow", "norm"];
  const headers: Record<string, string> = { "content-type": "application/json" };
  const mutation = Math.floor(random() * 10);
  let body: string | undefined;
  switch (mutation) {
    case 0: {
      // Truncated JSON.
      const text = JSON.stringify(base);
      body = text.slice(0, Math.floor(random() * text.length));
      break;
    }
    case 1: {
      // Random bytes / characters spliced in.
      const text = JSON.stringify(base);
      const at = Math.floor(random() * text.length);
      body = text.slice(0, at) + pick(["\u0000", "}", "{", '"', "\\", ",,", "]", "\ufffd", "NaN", "Infinity"]) + text.slice(at);
      break;
    }
    case 2:
      base[pick(fields)] = pick(weirdValues);
      body = JSON.stringify(base);
      break;
    case 3:
      base.kvpack = { [pick(kvpackFields)]: pick(weirdValues) };
      body = JSON.stringify(base);
      break;
    case 4:
      base.kvpack = { codec: pick(["fp32", "fp16", "int8", "kivi", "quarot", "turboquant", "fibquant", "dense", "lzma"]), keyBits: pick([0, 1, 2, 3, 4, 8, 16, 33, -2, 0.25, 2.5]), valueBits: pick([1, 2, 4, 7.75, 100]) };
      body = JSON.stringify(base);
      break;
    case 5:
      // Huge numbers and deep nesting.
      base.max_tokens = pick([1e12, -1e12, 2 ** 31, 513, 9]);
      base.prompt = pick(["x", Array.from({ length: 2000 }, () => 7), "[".repeat(3000)]);
      body = random() < 0.5 ? JSON.stringify(base) : "[".repeat(20000) + "]".repeat(20000);
      break;
    case 6:
      headers["content-type"] = pick(["text/plain", "application/x-www-form-urlencoded", "application/json; charset=latin1", "multipart/form-data; boundary=x", "", "application/jsonx"]);
      body = JSON.stringify(base);
      break;
    case 7:
      headers.authorization = pick(["Bearer", "Bearer ", "Basic abc", "Bearer \u00ff\u00fe", "Bearer " + "k".repeat(5000)]);
      headers["x-kvpack-session"] = pick(["", " ", "a".repeat(300), "ok-session", "ä"]);
      body = JSON.stringify(base);
      break;
    case 8:
      body = pick(["", "null", "0", '"string"', "[]", "true", "{}", '{"model":null}', '{"model":"stories260K","prompt":null}']);
      break;
    default:
      delete base[pick(fields)];
      base[pick(fields)] = pick(weirdValues);
      body = JSON.stringify(base);
  }
  const method = random() < 0.9 ? "POST" : pick(["GET", "PUT", "DELETE", "PATCH"]);
  return { method, path: route, headers, body: method === "GET" ? undefined : body };
}

describe("fuzz: 1000 malformed requests", () => {
  let testServer: TestServer;

  beforeAll(async () => {
    // Small generation limits keep the valid requests the fuzzer produces cheap.
    testServer = await startTestServer({ limits: { maxTokens: 8, promptTokens: 300, bodyBytes: 256 * 1024, queueSize: 2000, maxConcurrent: 4 } });
  });
  afterAll(() => testServer.close());

  it("never answers 5xx, always answers errors in the OpenAI shape, and stays healthy", async () => {
    const random = seededRandom(20261123);
    const statuses = new Map<number, number>();
    const concurrency = 16;
    const total = 1000;
    let sent = 0;
    const worker = async (): Promise<void> => {
      while (sent < total) {
        sent++;
        const request = generate(random);
        const response = await fetch(`${testServer.baseUrl}${request.path}`, { method: request.method, headers: request.headers, body: request.body });
        const text = await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${request.method} ${request.path} ${request.body?.slice(0, 200)}`).toBeLessThan(500);
        if (response.status >= 400) {
          const json = JSON.parse(text) as { error: Record<string, unknown> };
          expect(Object.keys(json.error).sort(), `${request.method} ${request.path} ${text.slice(0, 200)}`).toEqual(["code", "message", "param", "type"]);
        }
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const clientErrors = [...statuses].filter(([status]) => status >= 400).reduce((sum, [, count]) => sum + count, 0);
    // Most of the corpus is broken on purpose; a few mutations stay valid (2xx).
    expect(clientErrors).toBeGreaterThan(700);
    const health = await fetch(`${testServer.baseUrl}/health`);
    expect(health.status).toBe(200);
    expect(((await health.json()) as { status: string }).status).toBe("ok");
    const after = await fetch(`${testServer.baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 5, temperature: 0, kvpack: { codec: "fp32" } }),
    });
    expect(after.status).toBe(200);
    expect(testServer.server.context.budget.used).toBeGreaterThanOrEqual(0);
  });
});
