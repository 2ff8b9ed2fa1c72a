import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, type TestServer } from "./test-server.js";

describe("capacity: queue, 429 with Retry-After, metrics", () => {
  let testServer: TestServer;

  beforeAll(async () => {
    // One decode slot, one waiting place, a short wait: the third concurrent request must be refused.
    testServer = await startTestServer({ limits: { maxConcurrent: 1, queueSize: 1, queueTimeoutMs: 400, maxTokens: 500 }, kv: { memoryBudgetBytes: 2_000_000 } });
  });
  afterAll(() => testServer.close());

  it("queues requests beyond capacity, then refuses them with 429 and Retry-After", async () => {
    const body = { model: "stories260K", prompt: "Once upon a time", max_tokens: 400, temperature: 0, kvpack: { codec: "fp32" } };
    const responses = await Promise.all([0, 1, 2, 3].map(() => postJson(testServer.baseUrl, "/v1/completions", body)));
    const statuses = responses.map((response) => response.status).sort();
    expect(statuses.filter((status) => status === 200).length).toBeGreaterThanOrEqual(1);
    const refused = responses.filter((response) => response.status === 429);
    expect(refused.length).toBeGreaterThanOrEqual(2);
    for (const response of refused) {
      expect(Number(response.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
      expect(response.json.error.type).toBe("rate_limit_error");
      expect(["queue_full", "queue_timeout"]).toContain(response.json.error.code);
    }
  });

  it("refuses a request whose KV can never fit the budget", async () => {
    // fp32 on stories260K: 1,280 B per token (5 layers × 4 KV heads × 8 dims × 4 B × 2), so 505 tokens need 646 kB > 100 kB.
    const big = await startTestServer({ kv: { memoryBudgetBytes: 100_000 } });
    try {
      const response = await postJson(big.baseUrl, "/v1/completions", { model: "stories260K", prompt: "Once upon a time", max_tokens: 500, kvpack: { codec: "fp32" } });
      expect(response.status).toBe(429);
      expect(response.json.error.code).toBe("kv_budget_exceeded");
    } finally {
      await big.close();
    }
  });

  it("exports Prometheus metrics for KV memory, prefix hits, throughput, queue and time to first token", async () => {
    const prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day";
    for (let i = 0; i < 2; i++) {
      const response = await postJson(testServer.baseUrl, "/v1/completions", { model: "stories260K", prompt, max_tokens: 8, kvpack: { codec: "turboquant", session: "metrics" } });
      expect(response.status).toBe(200);
    }
    const response = await fetch(`${testServer.baseUrl}/metrics`);
    expect(response.headers.get("content-type")).toContain("text/plain");
    const text = await response.text();
    const value = (name: string): number => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, "m").exec(text)?.[1]);
    expect(value("kvpack_kv_resident_bytes")).toBeGreaterThan(0);
    expect(value("kvpack_kv_compression_ratio")).toBeGreaterThan(1);
    expect(value("kvpack_generated_tokens_total")).toBeGreaterThan(0);
    expect(value("kvpack_tokens_per_second")).toBeGreaterThan(0);
    expect(value("kvpack_time_to_first_token_seconds_count")).toBeGreaterThan(0);
    expect(value("kvpack_queue_depth")).toBe(0);
    expect(text).toContain("kvpack_prefix_hit_rate");
    expect(text).toContain("kvpack_kv_offloaded_bytes");
    expect(value("kvpack_rejected_requests_total")).toBeGreaterThanOrEqual(2);
    const health = (await (await fetch(`${testServer.baseUrl}/health`)).json()) as { status: string; sessions: number };
    expect(health.status).toBe("ok");
    expect(health.sessions).toBe(1);
  });
});
