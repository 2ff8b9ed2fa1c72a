import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestServer, type TestServer } from "./test-server.js";

interface Health {
  active_generations: number;
  kv: { used_bytes: number; resident_bytes: number };
}

describe("a client that disconnects mid-stream", () => {
  let testServer: TestServer;
  const health = async (): Promise<Health> => (await (await fetch(`${testServer.baseUrl}/health`)).json()) as Health;

  beforeAll(async () => {
    testServer = await startTestServer();
  });
  afterAll(() => testServer.close());

  it("frees its KV reservation and its cache: the budget's used bytes return to where they were", async () => {
    expect((await health()).kv.used_bytes).toBe(0);
    const controller = new AbortController();
    // A short prompt (under one 32-token page: no prefix pages are published) and a long completion.
    const response = await fetch(`${testServer.baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "stories260K", prompt: "Tom had a red kite.", max_tokens: 450, temperature: 0, stream: true, kvpack: { codec: "fp32" } }),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    let received = "";
    while ((received.match(/data: /g) ?? []).length < 5) received += new TextDecoder().decode((await reader.read()).value);
    const during = await health();
    expect(during.active_generations).toBe(1);
    // Admission reserved the worst case of prompt + 450 tokens (fp32: 1,280 B per token plus block headers).
    expect(during.kv.used_bytes).toBeGreaterThan(450 * 1280);
    expect(during.kv.resident_bytes).toBeGreaterThan(0);
    controller.abort();
    let after = await health();
    for (let attempt = 0; attempt < 50 && after.active_generations > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      after = await health();
    }
    expect(after.active_generations).toBe(0);
    expect(after.kv.used_bytes).toBe(0);
    expect(after.kv.resident_bytes).toBe(0);
  });
});
