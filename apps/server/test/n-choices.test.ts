import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, type TestServer } from "./test-server.js";

interface Health {
  active_generations: number;
  kv: { used_bytes: number };
}

/** Server-sent events of one streamed request, parsed (the [DONE] marker dropped). */
async function streamEvents(baseUrl: string, route: string, body: unknown): Promise<any[]> {
  const response = await fetch(`${baseUrl}${route}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return (await response.text())
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice(6)));
}

describe("n > 1: choices that share the prompt's KV pages", () => {
  let testServer: TestServer;
  let baseUrl: string;
  const health = async (): Promise<Health> => (await (await fetch(`${baseUrl}/health`)).json()) as Health;
  // More than one 32-token page with BOS, so choices start from a complete page plus a partial one.
  const prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her ball.";
  const sampled = { model: "stories260K", prompt, max_tokens: 24, temperature: 0.9, seed: 5, kvpack: { codec: "fp32" } };

  beforeAll(async () => {
    testServer = await startTestServer();
    baseUrl = testServer.baseUrl;
  });
  afterAll(() => testServer.close());

  it("gives each choice seed + index and exactly the text that choice gets alone (fp32: the shared prompt KV is exact)", async () => {
    const together = await postJson(baseUrl, "/v1/completions", { ...sampled, n: 3 });
    expect(together.status).toBe(200);
    expect(together.json.choices.map((choice: any) => choice.index)).toEqual([0, 1, 2]);
    const alone: string[] = [];
    let completionTokens = 0;
    for (let index = 0; index < 3; index++) {
      const single = await postJson(baseUrl, "/v1/completions", { ...sampled, seed: sampled.seed + index });
      alone.push(single.json.choices[0].text);
      completionTokens += single.json.usage.completion_tokens;
    }
    expect(together.json.choices.map((choice: any) => choice.text)).toEqual(alone);
    expect(new Set(alone).size).toBeGreaterThan(1); // the seeds really differ
    // The prompt is counted (and computed) once; completion tokens add up over the choices.
    const single = await postJson(baseUrl, "/v1/completions", { ...sampled, n: 1 });
    expect(together.json.usage.prompt_tokens).toBe(single.json.usage.prompt_tokens);
    expect(together.json.usage.completion_tokens).toBe(completionTokens);
    // Logprobs come per choice.
    const withLogprobs = await postJson(baseUrl, "/v1/completions", { ...sampled, n: 2, logprobs: 1 });
    for (const choice of withLogprobs.json.choices) expect(choice.logprobs.tokens.join("")).toBe(choice.text);
    expect(withLogprobs.json.choices.map((choice: any) => choice.text)).toEqual(alone.slice(0, 2));
  });

  it("with a lossy codec too, each choice gets exactly its text alone (choices decode on copy-on-write forks of the prompt)", async () => {
    // 40 new tokens push the page holding the prompt's tail out of the window while choice 0 decodes;
    // cutting that tail back out (as before forks) re-encoded the prompt's rows and changed choice 1.
    const lossy = { ...sampled, max_tokens: 40, seed: 11, kvpack: { codec: "turboquant" } };
    const together = await postJson(baseUrl, "/v1/completions", { ...lossy, n: 3 });
    expect(together.status).toBe(200);
    const alone: string[] = [];
    for (let index = 0; index < 3; index++) {
      const single = await postJson(baseUrl, "/v1/completions", { ...lossy, seed: lossy.seed + index });
      alone.push(single.json.choices[0].text);
    }
    expect(together.json.choices.map((choice: any) => choice.text)).toEqual(alone);
  });

  it("streams the choices one after the other, each with its own index and finish chunk; chat too", async () => {
    const whole = await postJson(baseUrl, "/v1/completions", { ...sampled, n: 2 });
    const chunks = await streamEvents(baseUrl, "/v1/completions", { ...sampled, n: 2, stream: true, stream_options: { include_usage: true } });
    const textOf = (index: number) => chunks.filter((chunk) => chunk.choices[0]?.index === index).map((chunk) => chunk.choices[0].text).join("");
    expect([textOf(0), textOf(1)]).toEqual(whole.json.choices.map((choice: any) => choice.text));
    const finishes = chunks.filter((chunk) => chunk.choices[0]?.finish_reason);
    expect(finishes.map((chunk) => chunk.choices[0].index)).toEqual([0, 1]);
    expect(finishes[1].kvpack.codec).toBe("fp32"); // the report rides on the last choice's finish
    expect(chunks.at(-1).usage).toEqual(whole.json.usage);
    const chat = { model: "stories260K", messages: [{ role: "user", content: prompt }], max_tokens: 10, temperature: 0.9, seed: 2, n: 2, kvpack: { codec: "fp32" } };
    const chatWhole = await postJson(baseUrl, "/v1/chat/completions", chat);
    expect(chatWhole.json.choices).toHaveLength(2);
    const chatChunks = await streamEvents(baseUrl, "/v1/chat/completions", { ...chat, stream: true });
    const roles = chatChunks.filter((chunk) => chunk.choices[0]?.delta?.role === "assistant").map((chunk) => chunk.choices[0].index);
    expect(roles).toEqual([0, 1]);
    for (let index = 0; index < 2; index++) {
      const text = chatChunks.filter((chunk) => chunk.choices[0]?.index === index).map((chunk) => chunk.choices[0].delta.content ?? "").join("");
      expect(text).toBe(chatWhole.json.choices[index].message.content);
    }
  });

  it("reserves the KV budget once for all choices, and a disconnect mid-choice frees it", async () => {
    const reservedDuring = async (n: number): Promise<number> => {
      // In-memory prefix pages of the earlier tests (same prompt) stay; nothing else may.
      const before = (await health()).kv.used_bytes;
      const controller = new AbortController();
      const response = await fetch(`${baseUrl}/v1/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...sampled, max_tokens: 300, n, stream: true }),
        signal: controller.signal,
      });
      const reader = response.body!.getReader();
      let received = "";
      // Read into the second choice when there is one (its role/first text chunk carries "index":1).
      const enough = (): boolean => (n > 1 ? received.includes('"index":1') : (received.match(/data: /g) ?? []).length >= 5);
      while (!enough()) received += new TextDecoder().decode((await reader.read()).value);
      const used = (await health()).kv.used_bytes;
      controller.abort();
      let after = await health();
      for (let attempt = 0; attempt < 50 && after.active_generations > 0; attempt++) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        after = await health();
      }
      expect(after.active_generations).toBe(0);
      expect(after.kv.used_bytes).toBe(before);
      return used - before;
    };
    const one = await reservedDuring(1);
    const four = await reservedDuring(4);
    // fp32: 1,280 B per token, so the prompt + 300 tokens reserve more than 300 × 1,280 B; the same for n = 1 and n = 4.
    expect(one).toBeGreaterThan(300 * 1280);
    expect(four).toBe(one);
  });

  it("rejects bad n values, and n > 1 with a session or an eviction policy, with 400 naming n", async () => {
    for (const n of [0, -1, 1.5, "2", 9]) {
      const response = await postJson(baseUrl, "/v1/completions", { ...sampled, n });
      expect(response.status).toBe(400);
      expect(response.json.error.param).toBe("n");
    }
    const withSession = await postJson(baseUrl, "/v1/completions", { ...sampled, n: 2, kvpack: { codec: "fp32", session: "s" } });
    expect([withSession.status, withSession.json.error.param]).toEqual([400, "n"]);
    const withPolicy = await postJson(baseUrl, "/v1/completions", { ...sampled, n: 2, kvpack: { codec: "turboquant", policy: "h2o", budget: 64 } });
    expect([withPolicy.status, withPolicy.json.error.param]).toEqual([400, "n"]);
  });

  it("a budget that fits one choice's prompt + max_tokens fits n of them; one that cannot is refused whatever n", async () => {
    // fp32 at 1,280 B per token: the prompt (under 50 tokens) + 60 fits 150 kB; + 200 (over 256 kB) never does.
    const small = await startTestServer({ kv: { memoryBudgetBytes: 150_000 } });
    try {
      const fits = await postJson(small.baseUrl, "/v1/completions", { ...sampled, max_tokens: 60, n: 4 });
      expect(fits.status).toBe(200);
      expect(fits.json.choices).toHaveLength(4);
      for (const n of [1, 4]) {
        const refused = await postJson(small.baseUrl, "/v1/completions", { ...sampled, max_tokens: 200, n });
        expect([refused.status, refused.json.error.code]).toEqual([429, "kv_budget_exceeded"]);
      }
    } finally {
      await small.close();
    }
  });
});
