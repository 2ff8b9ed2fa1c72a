import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { type ModelReference, readModelsData, readModelsDataJson } from "../model/test-models-data.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import { generate, generateText } from "./generate.js";
import { Sampler } from "./sampler.js";
import { SeededRandom } from "./seeded-random.js";

const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), weights.config.vocabSize);
const runtime = new LlamaRuntime(weights);
const promptLength = reference.prompt_token_ids.length;
const generatedReference = reference.greedy_token_ids.slice(promptLength);
// The text the generated tokens add: greedy_text minus the prompt (run.c prints the prompt pieces first).
const generatedReferenceText = reference.greedy_text.slice(reference.prompt.length);

describe("generate", () => {
  it("greedy streaming reproduces the reference ids and text of stories260K", async () => {
    const tokens: number[] = [];
    let text = "";
    for await (const step of generate(runtime, tokenizer, reference.prompt, { temperature: 0, maxTokens: reference.steps + 1 - promptLength })) {
      tokens.push(step.token);
      text += step.text;
    }
    expect([...reference.prompt_token_ids, ...tokens]).toEqual(reference.greedy_token_ids);
    expect(reference.prompt + text).toBe(reference.greedy_text);
  });

  it("top-k 1 sampling is greedy whatever the temperature", async () => {
    const { tokens } = await generateText(runtime, tokenizer, reference.prompt, { temperature: 1.5, topK: 1, seed: 7, maxTokens: 20 });
    expect(tokens).toEqual(generatedReference.slice(0, 20));
  });

  it("stops before a stop sequence and never emits it", async () => {
    const { text, tokens } = await generateText(runtime, tokenizer, reference.prompt, { temperature: 0, stopSequences: ["Lily."] });
    const expected = generatedReferenceText.slice(0, generatedReferenceText.indexOf("Lily."));
    expect(text).toBe(expected);
    expect(tokens.length).toBeLessThan(generatedReference.length);
  });

  it("holds back a possible stop sequence and releases it when the text goes another way", async () => {
    // The greedy text continues ", there was a little girl": the held ", there was a little " must come out in full.
    const chunks: string[] = [];
    for await (const step of generate(runtime, tokenizer, reference.prompt, { temperature: 0, maxTokens: generatedReference.length, stopSequences: [", there was a little boy"] })) {
      chunks.push(step.text);
    }
    expect(chunks.join("")).toBe(generatedReferenceText);
    expect(chunks).toContain("");
  });

  it("is reproducible for a seed and differs across seeds", async () => {
    const options = { temperature: 1, topP: 0.9, maxTokens: 40 };
    const first = await generateText(runtime, tokenizer, reference.prompt, { ...options, seed: 1 });
    const again = await generateText(runtime, tokenizer, reference.prompt, { ...options, seed: 1 });
    const other = await generateText(runtime, tokenizer, reference.prompt, { ...options, seed: 2 });
    expect(again).toEqual(first);
    expect(other.tokens).not.toEqual(first.tokens);
    expect(first.tokens.length).toBeGreaterThan(0);
  });

  it("stops at BOS, the llama2.c story delimiter, without emitting it", async () => {
    const { tokens } = await generateText(runtime, tokenizer, reference.prompt, { temperature: 0.8, seed: 3 });
    expect(tokens).not.toContain(tokenizer.bosId);
    expect(tokens.length).toBeLessThanOrEqual(weights.config.maxSequenceLength - promptLength);
  });
});

describe("SeededRandom", () => {
  it("matches run.c random_u32 computed with BigInt", () => {
    // run.c: state ^= state >> 12; state ^= state << 25; state ^= state >> 27; (state * 0x2545F4914F6CDD1D) >> 32.
    let state = 1234567890123n;
    const mask = (1n << 64n) - 1n;
    const random = new SeededRandom(1234567890123);
    for (let i = 0; i < 1000; i++) {
      state ^= state >> 12n;
      state = (state ^ (state << 25n)) & mask;
      state ^= state >> 27n;
      const expected = Number(((state * 0x2545f4914f6cdd1dn) & mask) >> 32n);
      expect(random.nextUint32()).toBe(expected);
    }
  });
});

describe("Sampler", () => {
  it("draws tokens with softmax(logits / temperature) frequencies", () => {
    const logits = Float32Array.of(0, 1, 2, Math.log(0.5));
    const temperature = 2;
    const sampler = new Sampler(4, { temperature, seed: 11 });
    const draws = 40_000;
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < draws; i++) counts[sampler.sample(logits)]++;
    const weights = Array.from(logits, (value) => Math.exp(value / temperature));
    const total = weights.reduce((a, b) => a + b, 0);
    // Closed form p_i = exp(l_i/T)/Σ; 5 binomial standard deviations √(p(1−p)/n) ≤ 0.0125 at n = 40,000.
    counts.forEach((count, i) => expect(Math.abs(count / draws - weights[i] / total)).toBeLessThan(0.0125));
  });

  it("top-p never draws outside the nucleus", () => {
    // probabilities 0.5, 0.3, 0.15, 0.05: the smallest prefix with mass > 0.7 is tokens {0, 1}.
    const logits = Float32Array.of(Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05));
    const sampler = new Sampler(4, { temperature: 1, topP: 0.7, seed: 5 });
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) seen.add(sampler.sample(logits));
    expect([...seen].sort()).toEqual([0, 1]);
  });

  it("rejects bad options", () => {
    expect(() => new Sampler(4, { temperature: Number.NaN })).toThrowError(/temperature/);
    expect(() => new Sampler(4, { topP: 0 })).toThrowError(/topP/);
    expect(() => new Sampler(4, { topK: 1.5 })).toThrowError(/topK/);
  });
});
