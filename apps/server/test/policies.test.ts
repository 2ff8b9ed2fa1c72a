import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, type TestServer } from "./test-server.js";

describe("per-request eviction policies and budgets", () => {
  let testServer: TestServer;

  beforeAll(async () => {
    testServer = await startTestServer({ kv: { memoryBudgetBytes: 20_000_000 } });
  });
  afterAll(() => testServer.close());

  async function run(kvpack: Record<string, unknown>): Promise<{ text: string; kvBytes: number; denseBytes: number }> {
    const response = await postJson(testServer.baseUrl, "/v1/completions", { model: "stories260K", prompt: "Once upon a time", max_tokens: 200, temperature: 0, kvpack });
    expect(response.status, JSON.stringify(response.json)).toBe(200);
    return { text: response.json.choices[0].text, kvBytes: response.json.kvpack.kv_bytes, denseBytes: response.json.kvpack.dense_kv_bytes };
  }

  it("lists the policies in /v1/models", async () => {
    const models = (await (await fetch(`${testServer.baseUrl}/v1/models`)).json()) as { data: { kvpack: { policies: string[] } }[] };
    expect(models.data[0].kvpack.policies).toEqual(["none", "streaming-llm", "h2o", "tova", "snapkv", "arkvale"]);
  });

  it("keeps fewer bytes resident with a token budget than without", async () => {
    const unbounded = await run({ codec: "turboquant", keyBits: 4, valueBits: 4 });
    for (const policy of ["streaming-llm", "h2o", "tova", "arkvale"]) {
      const bounded = await run({ codec: "turboquant", keyBits: 4, valueBits: 4, policy, budget: 64 });
      expect(bounded.text.length).toBeGreaterThan(0);
      // 205 positions against a 64-token budget (+ the 32-token residual window): well under the
      // unbounded cache. ArkVale keeps key digests and row metadata of its offloaded pages resident.
      expect(bounded.kvBytes, policy).toBeLessThan(unbounded.kvBytes * (policy === "arkvale" ? 0.85 : 0.75));
    }
  });

  it("rejects a budget without a policy", async () => {
    const response = await postJson(testServer.baseUrl, "/v1/completions", { model: "stories260K", prompt: "Hi", max_tokens: 2, kvpack: { budget: 64 } });
    expect(response.status).toBe(400);
    expect(response.json.error.param).toBe("kvpack.budget");
  });

  it("keeps a policy session across requests, offloaded and restored in the cache's own session format", async () => {
    const small = await startTestServer({ kv: { memoryBudgetBytes: 150_000 } });
    try {
      const ask = async (prompt: string, session: string) => {
        const response = await postJson(small.baseUrl, "/v1/completions", {
          model: "stories260K",
          prompt,
          max_tokens: 60,
          temperature: 0,
          kvpack: { codec: "kivi", policy: "streaming-llm", budget: 48, session },
        });
        expect(response.status, JSON.stringify(response.json)).toBe(200);
        return response.json as { choices: { text: string }[]; kvpack: { reused_tokens: number; prefix_source: string | null } };
      };
      const first = await ask("Lily had a red ball.", "p0");
      for (let index = 1; index < 8; index++) await ask(`Max had ${index} dogs.`, `p${index}`);
      const metrics = await (await fetch(`${small.baseUrl}/metrics`)).text();
      expect(Number(/kvpack_kv_offloaded_bytes\{tier="disk"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThan(0);
      const resumed = await ask(`Lily had a red ball.${first.choices[0].text} Then`, "p0");
      expect(resumed.kvpack.prefix_source).toBe("session");
      expect(resumed.kvpack.reused_tokens).toBeGreaterThan(50);
    } finally {
      await small.close();
    }
  });
});
