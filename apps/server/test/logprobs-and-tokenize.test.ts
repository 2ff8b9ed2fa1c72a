import { DenseKVCache } from "@kvpack/cache";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { defaultModel, postJson, readReference, startTestServer, type TestServer } from "./test-server.js";

const key = "sk-logprobs-0123456789";
const metricsKey = "metrics-scraper-key-0123";
const auth = { authorization: `Bearer ${key}` };

function expectOpenAiError(response: { status: number; json: any }, status: number, param: string): void {
  expect(response.status).toBe(status);
  expect(Object.keys(response.json.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(response.json.error.param).toBe(param);
}

/** float64 log-softmax of `logits / temperature`: the independent reference every check uses. */
function logSoftmax(logits: ArrayLike<number>, temperature = 1): number[] {
  const scaled = Array.from(logits, (value) => value / temperature);
  const maximum = Math.max(...scaled);
  const logSum = maximum + Math.log(scaled.reduce((sum, value) => sum + Math.exp(value - maximum), 0));
  return scaled.map((value) => value - logSum);
}

/** Logits before each generated token, from the model run directly on a DenseKVCache (not through the server). */
async function referenceLogits(ids: readonly number[], promptLength: number): Promise<Float32Array[]> {
  const model = await defaultModel();
  const cache = new DenseKVCache({ ...model.cacheShape, capacity: ids.length + 1 });
  const steps: Float32Array[] = [];
  for (let position = 0; position < ids.length; position++) {
    const logits = await model.forward(ids[position], position, cache);
    if (position >= promptLength - 1) steps.push(Float32Array.from(logits));
  }
  return steps;
}

/** Server-sent events of one streamed request, parsed (the [DONE] marker dropped). */
async function streamEvents(baseUrl: string, route: string, body: unknown): Promise<any[]> {
  const response = await fetch(`${baseUrl}${route}`, { method: "POST", headers: { "content-type": "application/json", ...auth }, body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  const text = await response.text();
  return text
    .split("\n")
    .filter((line) => line.startsWith("data: ") && line !== "data: [DONE]")
    .map((line) => JSON.parse(line.slice(6)));
}

describe("logprobs, tokenize / detokenize, and a key on /metrics", () => {
  let testServer: TestServer;
  let baseUrl: string;
  const reference = readReference();

  beforeAll(async () => {
    testServer = await startTestServer({ apiKeys: [{ id: "alpha", key }], metricsKey });
    baseUrl = testServer.baseUrl;
  });
  afterAll(() => testServer.close());

  it("completions: greedy logprobs are the log-softmax of the logits sampling used, in OpenAI's legacy shape", async () => {
    const body = { model: "stories260K", prompt: reference.prompt, max_tokens: 8, temperature: 0, logprobs: 3, kvpack: { codec: "fp32" } };
    const response = await postJson(baseUrl, "/v1/completions", body, auth);
    expect(response.status).toBe(200);
    const choice = response.json.choices[0];
    const { tokens, token_logprobs: tokenLogprobs, top_logprobs: topLogprobs, text_offset: textOffset } = choice.logprobs;
    expect(tokens).toHaveLength(response.json.usage.completion_tokens);
    expect(tokens.join("")).toBe(choice.text);
    // text_offset: where each token's text starts in the completion.
    expect(textOffset).toEqual(tokens.map((_: string, i: number) => tokens.slice(0, i).join("").length));
    // The first step against the float64 numpy reference logits (fp32 forward: within 1e-3).
    const first = logSoftmax(reference.last_position_logits_for_prompt);
    const greedyFirst = reference.greedy_token_ids[reference.prompt_token_ids.length];
    expect(tokenLogprobs[0]).toBeCloseTo(first[greedyFirst], 3);
    // Every step against the model run directly (same fp32 arithmetic: within 1e-4); greedy, so the
    // sampled token is the most likely one, and each dict holds the top 3 (the sampled one among them).
    const generated = reference.greedy_token_ids.slice(reference.prompt_token_ids.length, reference.prompt_token_ids.length + 8);
    const steps = await referenceLogits([...reference.prompt_token_ids, ...generated], reference.prompt_token_ids.length);
    for (let step = 0; step < tokens.length; step++) {
      const expected = logSoftmax(steps[step]);
      expect(tokenLogprobs[step]).toBeCloseTo(expected[generated[step]], 4);
      expect(tokenLogprobs[step]).toBeCloseTo(Math.max(...expected), 4);
      const dict = topLogprobs[step];
      expect(Object.keys(dict)).toHaveLength(3);
      expect(dict[tokens[step]]).toBe(tokenLogprobs[step]);
      const sorted = [...expected].sort((a, b) => b - a);
      expect(Object.values(dict).sort((a: any, b: any) => b - a)[2]).toBeCloseTo(sorted[2], 4);
    }
  });

  it("completions: streamed chunks carry the same logprobs, split token by token", async () => {
    const body = { model: "stories260K", prompt: reference.prompt, max_tokens: 6, temperature: 0, logprobs: 2, kvpack: { codec: "fp32" } };
    const whole = (await postJson(baseUrl, "/v1/completions", body, auth)).json.choices[0].logprobs;
    const chunks = await streamEvents(baseUrl, "/v1/completions", { ...body, stream: true });
    const streamed = chunks.flatMap((chunk) => chunk.choices[0]?.logprobs?.tokens ?? []);
    expect(streamed).toEqual(whole.tokens);
    expect(chunks.flatMap((chunk) => chunk.choices[0]?.logprobs?.token_logprobs ?? [])).toEqual(whole.token_logprobs);
    expect(chunks.flatMap((chunk) => chunk.choices[0]?.logprobs?.text_offset ?? [])).toEqual(whole.text_offset);
  });

  it("chat: logprobs true + top_logprobs give content entries with bytes, streaming too; sampling at temperature 0.7 reports that distribution", async () => {
    const body = { model: "stories260K", messages: [{ role: "user", content: "Once upon a time" }], max_tokens: 5, temperature: 0.7, seed: 11, logprobs: true, top_logprobs: 4, kvpack: { codec: "fp32" } };
    const response = await postJson(baseUrl, "/v1/chat/completions", body, auth);
    expect(response.status).toBe(200);
    const content = response.json.choices[0].logprobs.content;
    expect(content).toHaveLength(response.json.usage.completion_tokens);
    expect(content.map((entry: any) => entry.token).join("")).toBe(response.json.choices[0].message.content);
    for (const entry of content) {
      expect(Object.keys(entry).sort()).toEqual(["bytes", "logprob", "token", "top_logprobs"]);
      expect(new TextDecoder().decode(Uint8Array.from(entry.bytes))).toBe(entry.token);
      expect(entry.top_logprobs).toHaveLength(4);
      expect(entry.top_logprobs[0].logprob).toBeGreaterThanOrEqual(entry.top_logprobs[3].logprob);
    }
    // First step: the prompt's last-position logits at temperature 0.7 (the reference model run directly).
    const prompt = (await defaultModel()).tokenizer.encode("Once upon a time", { bos: true });
    const [firstLogits] = await referenceLogits(prompt, prompt.length);
    const expected = logSoftmax(firstLogits, 0.7);
    const sortedExpected = [...expected].sort((x, y) => y - x);
    content[0].top_logprobs.forEach((entry: any, rank: number) => expect(entry.logprob).toBeCloseTo(sortedExpected[rank], 4));
    // The sampled token, found by its bytes after the prompt's last token (a byte-fallback piece
    // such as <0x2C> has the same bytes as ",", so take the closest of the ids that match).
    const { tokenizer } = await defaultModel();
    const last = prompt[prompt.length - 1];
    const candidates = Array.from({ length: tokenizer.vocabSize }, (_, id) => id).filter((id) => Array.from(tokenizer.tokenBytes(last, id)).join() === content[0].bytes.join());
    expect(Math.min(...candidates.map((id) => Math.abs(expected[id] - content[0].logprob)))).toBeLessThan(1e-4);
    // The same seed streamed: identical entries, one chunk per token.
    const chunks = await streamEvents(baseUrl, "/v1/chat/completions", { ...body, stream: true });
    expect(chunks.flatMap((chunk) => chunk.choices[0]?.logprobs?.content ?? [])).toEqual(content);
    // Without logprobs the field stays null.
    const plain = await postJson(baseUrl, "/v1/chat/completions", { ...body, logprobs: undefined, top_logprobs: undefined }, auth);
    expect(plain.json.choices[0].logprobs).toBeNull();
  });

  it("rejects bad logprobs values with 400 naming the parameter", async () => {
    const completion = { model: "stories260K", prompt: "Hi", max_tokens: 2 };
    for (const logprobs of [-1, 6, 1.5, "3", true]) expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...completion, logprobs }, auth), 400, "logprobs");
    expectOpenAiError(await postJson(baseUrl, "/v1/completions", { ...completion, logprobs: 2, echo: true }, auth), 400, "logprobs");
    const chat = { model: "stories260K", messages: [{ role: "user", content: "Hi" }], max_tokens: 2 };
    expectOpenAiError(await postJson(baseUrl, "/v1/chat/completions", { ...chat, logprobs: 3 }, auth), 400, "logprobs");
    for (const top_logprobs of [-1, 21, 2.5]) expectOpenAiError(await postJson(baseUrl, "/v1/chat/completions", { ...chat, logprobs: true, top_logprobs }, auth), 400, "top_logprobs");
    expectOpenAiError(await postJson(baseUrl, "/v1/chat/completions", { ...chat, top_logprobs: 2 }, auth), 400, "top_logprobs");
    expectOpenAiError(await postJson(baseUrl, "/v1/chat/completions", { ...chat, logprobs: false, top_logprobs: 2 }, auth), 400, "top_logprobs");
  });

  it("tokenize and detokenize in llama.cpp's shapes agree with llama2.c's token ids", async () => {
    const withBos = await postJson(baseUrl, "/tokenize", { content: reference.prompt, add_special: true }, auth);
    expect(withBos.status).toBe(200);
    expect(withBos.json).toEqual({ tokens: reference.prompt_token_ids });
    const bare = await postJson(baseUrl, "/tokenize", { content: reference.prompt }, auth);
    expect(bare.json.tokens).toEqual(reference.prompt_token_ids.slice(1));
    const pieces = await postJson(baseUrl, "/tokenize", { content: reference.prompt, with_pieces: true }, auth);
    expect(pieces.json.tokens.map((entry: any) => entry.id)).toEqual(reference.prompt_token_ids.slice(1));
    // SentencePiece's dummy prefix: the pieces spell the text with one leading space.
    expect(pieces.json.tokens.map((entry: any) => entry.piece).join("")).toBe(` ${reference.prompt}`);
    const back = await postJson(baseUrl, "/detokenize", { tokens: reference.greedy_token_ids }, auth);
    expect(back.status).toBe(200);
    expect(back.json).toEqual({ content: reference.greedy_text });
    expect((await postJson(baseUrl, "/tokenize", { content: "x" })).status).toBe(401);
    expectOpenAiError(await postJson(baseUrl, "/tokenize", { add_special: true }, auth), 400, "content");
    expectOpenAiError(await postJson(baseUrl, "/tokenize", { content: 5 }, auth), 400, "content");
    expectOpenAiError(await postJson(baseUrl, "/detokenize", { tokens: [1, 512] }, auth), 400, "tokens");
    expectOpenAiError(await postJson(baseUrl, "/detokenize", { tokens: [1, -3] }, auth), 400, "tokens.1");
    expectOpenAiError(await postJson(baseUrl, "/detokenize", { tokens: "1 2" }, auth), 400, "tokens");
  });

  it("GET /metrics needs the metrics key when one is configured (an API key is not enough)", async () => {
    const metrics = (authorization?: string) => fetch(`${baseUrl}/metrics`, { headers: authorization ? { authorization } : {} });
    const open = await metrics();
    expect(open.status).toBe(401);
    expect(((await open.json()) as { error: { code: string } }).error.code).toBe("missing_api_key");
    expect((await metrics(`Bearer ${key}`)).status).toBe(401);
    const scraped = await metrics(`Bearer ${metricsKey}`);
    expect(scraped.status).toBe(200);
    expect(await scraped.text()).toMatch(/kvpack_kv_resident_bytes/);
  });
});
