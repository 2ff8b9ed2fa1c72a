import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postJson, startTestServer, type TestServer } from "./test-server.js";

const sum = (values: number[]): number => values.reduce((total, value) => total + value, 0);

describe("best_of: candidates from one prefill, the most likely n returned", () => {
  let testServer: TestServer;
  let baseUrl: string;
  const prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park with her ball.";
  // fp32 KV: each candidate's text equals the same seed run alone (n-choices.test.ts shows it for n).
  const sampled = { model: "stories260K", prompt, max_tokens: 16, temperature: 1, seed: 11, kvpack: { codec: "fp32" } };

  beforeAll(async () => {
    testServer = await startTestServer();
    baseUrl = testServer.baseUrl;
  });
  afterAll(() => testServer.close());

  /** Candidate i is the single run with seed + i; its score is the sum of its token_logprobs. */
  async function singles(count: number): Promise<{ text: string; score: number; tokens: number }[]> {
    const runs = [];
    for (let index = 0; index < count; index++) {
      const single = await postJson(baseUrl, "/v1/completions", { ...sampled, seed: sampled.seed + index, logprobs: 0 });
      expect(single.status).toBe(200);
      runs.push({ text: single.json.choices[0].text, score: sum(single.json.choices[0].logprobs.token_logprobs), tokens: single.json.usage.completion_tokens });
    }
    return runs;
  }

  it("returns the candidate with the highest cumulative log-prob, and counts every candidate's tokens", async () => {
    const candidates = await singles(4);
    // The seeds give different texts with different scores, so the pick is not trivially the first.
    expect(new Set(candidates.map((candidate) => candidate.score)).size).toBe(4);
    const best = candidates.reduce((top, candidate) => (candidate.score > top.score ? candidate : top));
    const response = await postJson(baseUrl, "/v1/completions", { ...sampled, best_of: 4, logprobs: 0 });
    expect(response.status).toBe(200);
    expect(response.json.choices).toHaveLength(1);
    expect(response.json.choices[0].text).toBe(best.text);
    // Same fp32 logits, same float32 → float64 sums: equal up to the last bits of summation order (1e-9).
    expect(sum(response.json.choices[0].logprobs.token_logprobs)).toBeCloseTo(best.score, 9);
    expect(response.json.usage.completion_tokens).toBe(sum(candidates.map((candidate) => candidate.tokens)));
    // Without logprobs asked for, the pick is the same and no logprobs are sent.
    const plain = await postJson(baseUrl, "/v1/completions", { ...sampled, best_of: 4 });
    expect(plain.json.choices[0].text).toBe(best.text);
    expect(plain.json.choices[0].logprobs).toBeNull();
  });

  it("with n < best_of returns the n best, best first, indexed 0…n−1", async () => {
    const candidates = await singles(3);
    const order = candidates.map((candidate, index) => ({ ...candidate, index })).sort((a, b) => b.score - a.score);
    const response = await postJson(baseUrl, "/v1/completions", { ...sampled, n: 2, best_of: 3 });
    expect(response.json.choices.map((choice: { index: number }) => choice.index)).toEqual([0, 1]);
    expect(response.json.choices.map((choice: { text: string }) => choice.text)).toEqual([order[0].text, order[1].text]);
    // best_of = n is plain n: choices in seed order.
    const same = await postJson(baseUrl, "/v1/completions", { ...sampled, n: 3, best_of: 3 });
    expect(same.json.choices.map((choice: { text: string }) => choice.text)).toEqual(candidates.map((candidate) => candidate.text));
  });

  it("rejects best_of < n, best_of with stream, beyond the server's limit, with a session or a policy: 400 naming best_of", async () => {
    const cases: Record<string, unknown>[] = [
      { n: 3, best_of: 2 },
      { best_of: 2, stream: true },
      { best_of: 9 }, // limits.maxChoices defaults to 8
      { best_of: 0 },
      { best_of: 1.5 },
      { best_of: "2" },
      { best_of: 2, kvpack: { codec: "fp32", session: "best-of" } },
      { best_of: 2, kvpack: { codec: "turboquant", policy: "h2o", budget: 64 } },
    ];
    for (const extra of cases) {
      const response = await postJson(baseUrl, "/v1/completions", { ...sampled, ...extra });
      expect([response.status, response.json.error.param], JSON.stringify(extra)).toEqual([400, "best_of"]);
    }
    // best_of 1 is the default, also when streamed.
    const streamed = await fetch(`${baseUrl}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...sampled, best_of: 1, stream: true }) });
    expect(streamed.status).toBe(200);
    await streamed.text();
  });
});
