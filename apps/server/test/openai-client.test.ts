import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readReference, startTestServer, type TestServer } from "./test-server.js";

describe("OpenAI client against the real server", () => {
  let testServer: TestServer;
  let client: OpenAI;
  const reference = readReference();
  // run.c semantics: greedy_token_ids = BOS + prompt + generated, so generated = total − prompt ids.
  const generatedCount = reference.greedy_token_ids.length - reference.prompt_token_ids.length;
  const expectedContinuation = reference.greedy_text.slice(reference.prompt.length);

  beforeAll(async () => {
    testServer = await startTestServer();
    client = new OpenAI({ baseURL: `${testServer.baseUrl}/v1`, apiKey: "unused-without-keys", maxRetries: 0 });
  });
  afterAll(() => testServer.close());

  it("lists the embedded model", async () => {
    const models = await client.models.list();
    expect(models.data.map((model) => model.id)).toEqual(["stories260K"]);
  });

  for (const codec of ["fp32", "fp16"] as const) {
    it(`greedy completion with the ${codec} cache equals the llama2.c reference text`, async () => {
      const completion = await client.completions.create({
        model: "stories260K",
        prompt: reference.prompt,
        max_tokens: generatedCount,
        temperature: 0,
        // @ts-expect-error kvpack extension field
        kvpack: { codec },
      });
      expect(completion.choices[0].text).toBe(expectedContinuation);
      expect(completion.choices[0].finish_reason).toBe("length");
      expect(completion.usage).toEqual({ prompt_tokens: 5, completion_tokens: generatedCount, total_tokens: 5 + generatedCount });
    });
  }

  it("streams a chat completion as server-sent events that join to the non-streamed text", async () => {
    const request = {
      model: "stories260K",
      messages: [{ role: "user" as const, content: reference.prompt }],
      max_tokens: 24,
      temperature: 0,
      kvpack: { codec: "fp32" },
    };
    const whole = await client.chat.completions.create({ ...request, stream: false } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } } as OpenAI.ChatCompletionCreateParamsStreaming);
    let text = "";
    let finishReason: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined | null;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      text += choice.delta.content ?? "";
      finishReason = choice.finish_reason ?? finishReason;
    }
    expect(chunks).toBeGreaterThan(10);
    expect(text).toBe(whole.choices[0].message.content);
    expect(text).toBe(expectedContinuation.slice(0, text.length));
    expect(finishReason).toBe("length");
    expect(usage?.completion_tokens).toBe(24);
  });

  it("streams a legacy completion and honours stop sequences", async () => {
    const stream = await client.completions.create({ model: "stories260K", prompt: reference.prompt, max_tokens: 60, temperature: 0, stop: [" girl"], stream: true });
    let text = "";
    let finishReason: string | null = null;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.text ?? "";
      finishReason = chunk.choices[0]?.finish_reason ?? finishReason;
    }
    // The reference continues ", there was a little girl named Lily." — generation stops before " girl".
    expect(text).toBe(", there was a little");
    expect(finishReason).toBe("stop");
  });

  it("runs every compressed codec and reports its KV bytes below the fp32 size", async () => {
    for (const kvpack of [
      { codec: "turboquant", keyBits: 4, valueBits: 4 },
      { codec: "kivi", keyBits: 2, valueBits: 2 },
      { codec: "quarot", keyBits: 4, valueBits: 4 },
      { codec: "int8" },
      { codec: "fibquant", keyBits: 2, valueBits: 2 },
    ]) {
      const completion = (await client.completions.create({
        model: "stories260K",
        prompt: reference.prompt,
        max_tokens: 100,
        temperature: 0,
        // @ts-expect-error kvpack extension field
        kvpack,
      })) as unknown as OpenAI.Completion & { kvpack: { kv_bytes: number; dense_kv_bytes: number; compression_ratio: number } };
      expect(completion.choices[0].text.length).toBeGreaterThan(0);
      expect(completion.kvpack.kv_bytes).toBeGreaterThan(0);
      expect(completion.kvpack.kv_bytes).toBeLessThan(completion.kvpack.dense_kv_bytes);
    }
  });

  it("samples reproducibly with a seed", async () => {
    const request = { model: "stories260K", prompt: "Tom had a dog", max_tokens: 30, temperature: 0.9, top_p: 0.9, seed: 1234 };
    const first = await client.completions.create(request);
    const second = await client.completions.create(request);
    expect(second.choices[0].text).toBe(first.choices[0].text);
  });
});
