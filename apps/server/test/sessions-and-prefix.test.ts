import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, temporaryDirectory, type TestServer } from "./test-server.js";

const keyA = "sk-tenant-a-0123456789";
const keyB = "sk-tenant-b-0123456789";
const asA = { authorization: `Bearer ${keyA}` };
const asB = { authorization: `Bearer ${keyB}` };
// 40+ tokens: more than one 32-token page, so the prefix cache has a full page to share.
const longPrompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park. One day, she saw a big red ball.";

interface KvpackReport {
  reused_tokens: number;
  prefix_source: string | null;
  kv_bytes: number;
  dense_kv_bytes: number;
}

async function complete(baseUrl: string, headers: Record<string, string>, prompt: string, kvpack: Record<string, unknown>, maxTokens = 16): Promise<{ text: string; kvpack: KvpackReport }> {
  const response = await postJson(baseUrl, "/v1/completions", { model: "stories260K", prompt, max_tokens: maxTokens, temperature: 0, kvpack }, headers);
  expect(response.status, JSON.stringify(response.json)).toBe(200);
  return { text: response.json.choices[0].text, kvpack: response.json.kvpack };
}

describe("sessions and the prefix cache", () => {
  let testServer: TestServer;
  const diskDirectory = temporaryDirectory("shared-disk");

  beforeAll(async () => {
    testServer = await startTestServer({
      apiKeys: [
        { id: "tenant-a", key: keyA },
        { id: "tenant-b", key: keyB },
      ],
      kv: { diskDirectory },
    });
  });
  afterAll(() => testServer.close());

  it("reuses a conversation's KV from its session and gives the same text as a cold run", async () => {
    for (const codec of ["fp32", "turboquant"]) {
      const session = `story-${codec}`;
      const first = await complete(testServer.baseUrl, asA, "Tom had a red kite.", { codec, session });
      expect(first.kvpack.reused_tokens).toBe(0);
      const followUp = `Tom had a red kite.${first.text} Then`;
      const warm = await complete(testServer.baseUrl, asA, followUp, { codec, session });
      expect(warm.kvpack.prefix_source).toBe("session");
      // The session holds prompt + all generated tokens but the last (its KV is never computed).
      expect(warm.kvpack.reused_tokens).toBeGreaterThan(10);
      const cold = await complete(testServer.baseUrl, asA, followUp, { codec, session: `${session}-cold` });
      expect(cold.kvpack.reused_tokens).toBe(0);
      // Replaying the same appends gives the same cache, so greedy decoding agrees exactly.
      expect(warm.text).toBe(cold.text);
    }
  });

  it("shares the dense (fp32) cache's prompt pages through the same page mechanism (same text)", async () => {
    const cold = await complete(testServer.baseUrl, asA, `${longPrompt} Dense.`, { codec: "fp32" });
    const warm = await complete(testServer.baseUrl, asA, `${longPrompt} Dense.`, { codec: "fp32" });
    expect(cold.kvpack.reused_tokens).toBe(0);
    expect(warm.kvpack.reused_tokens).toBe(32);
    expect(warm.kvpack.prefix_source).toBe("memory");
    expect(warm.text).toBe(cold.text);
  });

  it("lets a later turn without a session reuse pages that hold the earlier completion", async () => {
    const first = await complete(testServer.baseUrl, asA, "Anna had a small boat.", { codec: "turboquant" }, 70);
    // Prompt + completion pass 64 tokens, so two full pages were published after decoding.
    const next = await complete(testServer.baseUrl, asA, `Anna had a small boat.${first.text} The end`, { codec: "turboquant" });
    expect(next.kvpack.reused_tokens).toBe(64);
  });

  it("never lets one API key read another key's session", async () => {
    await complete(testServer.baseUrl, asA, "Sam found a shiny stone.", { codec: "fp32", session: "same-name" });
    const other = await complete(testServer.baseUrl, asB, "Sam found a shiny stone.", { codec: "fp32", session: "same-name" });
    expect(other.kvpack.reused_tokens).toBe(0);
    expect(other.kvpack.prefix_source).toBeNull();
    // The header form of the session id reaches the same (per-key) session.
    const again = await complete(testServer.baseUrl, { ...asA, "x-kvpack-session": "same-name" }, "Sam found a shiny stone. He", { codec: "fp32" });
    expect(again.kvpack.prefix_source).toBe("session");
  });

  it("shows and deletes a session for its own key only", async () => {
    await complete(testServer.baseUrl, asA, "Ben had a green hat.", { codec: "kivi", session: "to-delete" });
    const shown = await fetch(`${testServer.baseUrl}/v1/kvpack/sessions/to-delete`, { headers: asA });
    expect(shown.status).toBe(200);
    const info = (await shown.json()) as { tokens: number; kv_bytes: number; codec: string };
    expect(info.codec).toBe("kivi");
    expect(info.tokens).toBeGreaterThan(5);
    expect(info.kv_bytes).toBeGreaterThan(0);
    expect((await fetch(`${testServer.baseUrl}/v1/kvpack/sessions/to-delete`, { headers: asB })).status).toBe(404);
    expect((await fetch(`${testServer.baseUrl}/v1/kvpack/sessions/to-delete`, { method: "DELETE", headers: asB })).status).toBe(404);
    expect((await fetch(`${testServer.baseUrl}/v1/kvpack/sessions/to-delete`, { method: "DELETE", headers: asA })).status).toBe(200);
    expect((await fetch(`${testServer.baseUrl}/v1/kvpack/sessions/to-delete`, { headers: asA })).status).toBe(404);
    const fresh = await complete(testServer.baseUrl, asA, "Ben had a green hat. He", { codec: "kivi", session: "to-delete" });
    expect(fresh.kvpack.prefix_source).not.toBe("session");
    expect((await fetch(`${testServer.baseUrl}/v1/kvpack/sessions/bad%20id`, { headers: asA })).status).toBe(400);
  });

  it("shares prompt pages between requests of one key only, and finds them on disk from a new process state", async () => {
    const cold = await complete(testServer.baseUrl, asA, longPrompt, { codec: "kivi" });
    expect(cold.kvpack.reused_tokens).toBe(0);
    const warm = await complete(testServer.baseUrl, asA, longPrompt, { codec: "kivi" });
    expect(warm.kvpack.reused_tokens).toBe(32);
    expect(warm.kvpack.prefix_source).toBe("memory");
    expect(warm.text).toBe(cold.text);
    // Another codec is another cache: no hit. Another key: no hit.
    expect((await complete(testServer.baseUrl, asA, longPrompt, { codec: "int8" })).kvpack.reused_tokens).toBe(0);
    expect((await complete(testServer.baseUrl, asB, longPrompt, { codec: "kivi" })).kvpack.reused_tokens).toBe(0);
    await testServer.server.context.store?.flush();
    const second = await startTestServer({ apiKeys: [{ id: "tenant-a", key: keyA }], kv: { diskDirectory } });
    try {
      const fromDisk = await complete(second.baseUrl, asA, longPrompt, { codec: "kivi" });
      expect(fromDisk.kvpack.prefix_source).toBe("disk");
      expect(fromDisk.kvpack.reused_tokens).toBe(32);
      expect(fromDisk.text).toBe(cold.text);
    } finally {
      await second.close();
    }
  });

  it("offloads idle sessions when the KV budget is full and restores them on their next turn", async () => {
    // 200 kB: room for a few dense sessions (1,280 B per token on stories260K) but not for ten.
    const small = await startTestServer({ kv: { memoryBudgetBytes: 200_000, diskDirectory: temporaryDirectory("offload") } });
    try {
      const texts: string[] = [];
      for (let index = 0; index < 10; index++) {
        texts.push((await complete(small.baseUrl, {}, `Mia had ${index} cats.`, { codec: "fp32", session: `s${index}` }, 40)).text);
      }
      expect(small.server.context.budget.used).toBeLessThanOrEqual(200_000);
      const metrics = await (await fetch(`${small.baseUrl}/metrics`)).text();
      const offloaded = /kvpack_kv_offloaded_bytes\{tier="disk"\} (\d+)/.exec(metrics);
      expect(Number(offloaded?.[1])).toBeGreaterThan(0);
      const resumed = await complete(small.baseUrl, {}, `Mia had 0 cats.${texts[0]} The`, { codec: "fp32", session: "s0" });
      expect(resumed.kvpack.prefix_source).toBe("session");
      expect(resumed.kvpack.reused_tokens).toBeGreaterThan(30);
    } finally {
      await small.close();
    }
  });
});
