import { describe, expect, it } from "vitest";
import { readModelsData } from "../model/test-models-data.js";
import { loadGpt2Tokenizer } from "./gpt2-bpe-tokenizer.js";

describe("GPT-2 BPE tokenizer", () => {
  const tokenizer = loadGpt2Tokenizer(readModelsData("gpt2-encoder.json"), readModelsData("gpt2-vocab.bpe"));

  it("encodes known strings to the ids OpenAI's GPT-2 tokenizer gives", () => {
    // Well-known GPT-2 ids (tiktoken "gpt2" / Hugging Face GPT2Tokenizer).
    expect(tokenizer.encode("Hello world")).toEqual([15496, 995]);
    expect(tokenizer.encode("hello world")).toEqual([31373, 995]);
    expect(tokenizer.encode(" the")).toEqual([262]);
    expect(tokenizer.encode("The quick brown fox")).toEqual([464, 2068, 7586, 21831]);
    expect(tokenizer.encode("Hello world", { bos: true, eos: true })).toEqual([50256, 15496, 995, 50256]);
    expect(tokenizer.vocabSize).toBe(50257);
  });

  it("round-trips text with punctuation, numbers, newlines and multi-byte characters", () => {
    const text = "It's 2026 — naïve café, 你好! 🙂\n\n  spaced  out";
    const ids = tokenizer.encode(text);
    expect(tokenizer.decode(ids)).toBe(text);
    // Joining per-token bytes (what streaming does) gives the same text.
    const bytes = ids.flatMap((id, i) => Array.from(tokenizer.tokenBytes(i ? ids[i - 1] : -1, id)));
    expect(new TextDecoder().decode(Uint8Array.from(bytes))).toBe(text);
  });
});
