import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { modelsDataDirectory, readModelsData } from "../model/test-models-data.js";
import { loadGpt2Tokenizer } from "../tokenizers/gpt2-bpe-tokenizer.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { HuggingFaceTokenizer } from "./hugging-face-tokenizer.js";
import { sentencePieceJsonOf } from "./test-model-folders.js";
import { gpt2TokenizerJson } from "./write-tokenizer-json.js";

// tokenizer.json files built from the shared vocabularies (write-tokenizer-json.ts), run by
// @huggingface/tokenizers, against kvpack's own tokenizers on the same vocabularies (which give
// run.c's / GPT-2's ids, see their tests). KVPACK_TOKENIZER_FULL=1 runs the whole texts.
const full = process.env.KVPACK_TOKENIZER_FULL === "1";
const wikitext = readFileSync(path.join(modelsDataDirectory, "wikitext-2-raw-test.raw"), "utf8").replaceAll("\r", "");
const tinyStories = readFileSync(path.join(modelsDataDirectory, "tinystories-valid-first600.txt"), "utf8").replaceAll("<|endoftext|>", "");
// The unicode stress set of gguf-tokenizer-llama-cpp.test.ts, less the lone surrogates (strings that
// are not UTF-8; kvpack maps them to U+FFFD, the library to other pieces).
export const unicodeStress = [
  "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and ❤️",
  "中文分词测试，日本語のテキスト、한국어 문장입니다。",
  "Combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0307\u0308 \u0915\u094d\u0937 \u0e01\u0e34",
  "Control \u0000\u0001\u0007\t\u000b\f\r\n\u001b[0m\u007f\u0085\u00a0\u2028 end",
  "Spaces:      eight   then\t\ttabs\n\n\nnewlines   \n  ",
  "Digits 1234567890 12 345 6789012345678901234567890 3.14159 1,000,000",
  "Contractions: I'm you're it's we'll they'd can't DON'T I'M",
  "Mixed <|endoftext|> inside text and <s> </s> [INST] tags",
  "A" + " ".repeat(100) + "B" + "9".repeat(80),
  "   leading spaces, trailing spaces   ",
  "\n\n\nleading newlines",
];

function pieces(text: string, lineLimit: number): string[] {
  const lines = text.split("\n").slice(0, full ? undefined : lineLimit);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 20) out.push(lines.slice(i, i + 20).join("\n") + "\n");
  return out;
}

const texts = [...pieces(wikitext, 160), ...pieces(tinyStories, 100), ...unicodeStress];

function compare(ours: Tokenizer, library: HuggingFaceTokenizer, label: string): void {
  let count = 0;
  let oursMs = 0;
  let libraryMs = 0;
  for (const text of texts) {
    let started = performance.now();
    const expected = ours.encode(text, { bos: true });
    oursMs += performance.now() - started;
    started = performance.now();
    const ids = library.encode(text, { bos: true });
    libraryMs += performance.now() - started;
    expect(ids, JSON.stringify(text.slice(0, 60))).toEqual(expected);
    count += ids.length;
  }
  console.log(`${label}: ${count} ids equal on ${texts.length} texts; kvpack ${oursMs.toFixed(0)} ms, @huggingface/tokenizers ${libraryMs.toFixed(0)} ms`);
}

describe("HuggingFaceTokenizer (tokenizer.json through @huggingface/tokenizers)", () => {
  it("Llama SentencePiece tokenizer.json from tok512: the ids of run.c's tokenizer on wikitext-2, TinyStories and unicode stress", () => {
    const ours = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
    const library = new HuggingFaceTokenizer(sentencePieceJsonOf(ours), { bos_token: "<s>", eos_token: "</s>" });
    expect([library.vocabSize, library.bosId, library.eosId, library.addBos, library.addEos]).toEqual([512, 1, 2, true, false]);
    compare(ours, library, "tok512");
  });

  it("the Llama 2 vocabulary (tokenizer.bin, 32000 pieces) as tokenizer.json: the same ids", () => {
    const ours = loadLlama2cTokenizer(readModelsData("tokenizer.bin"), 32000);
    compare(ours, new HuggingFaceTokenizer(sentencePieceJsonOf(ours), { bos_token: "<s>", eos_token: "</s>" }), "llama-2");
  }, 120_000);

  it("GPT-2 byte-level BPE tokenizer.json: the ids of Gpt2BpeTokenizer", () => {
    const ours = loadGpt2Tokenizer(readModelsData("gpt2-encoder.json"), readModelsData("gpt2-vocab.bpe"));
    const encoder = JSON.parse(new TextDecoder().decode(readModelsData("gpt2-encoder.json"))) as Record<string, number>;
    const merges = new TextDecoder().decode(readModelsData("gpt2-vocab.bpe")).split("\n");
    const library = new HuggingFaceTokenizer(gpt2TokenizerJson(encoder, merges), { bos_token: "<|endoftext|>", eos_token: "<|endoftext|>" });
    expect([library.vocabSize, library.bosId, library.eosId, library.addBos]).toEqual([50257, 50256, 50256, false]);
    compare(ours, library, "gpt-2");
  }, 120_000);

  it("matches special tokens in text only with special: true, and streams bytes that join to decode's text", () => {
    const encoder = JSON.parse(new TextDecoder().decode(readModelsData("gpt2-encoder.json"))) as Record<string, number>;
    const merges = new TextDecoder().decode(readModelsData("gpt2-vocab.bpe")).split("\n");
    const tokenizer = new HuggingFaceTokenizer(gpt2TokenizerJson(encoder, merges), {}, { eosTokenIds: [50256] });
    expect(tokenizer.encode("a<|endoftext|>b", { special: true })).toEqual([64, 50256, 65]);
    expect(tokenizer.encode("a<|endoftext|>b")).not.toContain(50256);
    const text = "It's 2026 — naïve café, 你好! 🙂\n\n  spaced  out";
    const ids = tokenizer.encode(text);
    expect(tokenizer.decode(ids)).toBe(text);
    const bytes = ids.flatMap((id, i) => Array.from(tokenizer.tokenBytes(i ? ids[i - 1] : -1, id)));
    expect(new TextDecoder().decode(Uint8Array.from(bytes))).toBe(text);

    const sentencePiece = new HuggingFaceTokenizer(sentencePieceJsonOf(loadLlama2cTokenizer(readModelsData("tokenizer.bin"), 32000)));
    const story = "Once upon a time, 你好 🙂 there was\na dog.";
    const storyIds = sentencePiece.encode(story, { bos: true });
    expect(sentencePiece.decode(storyIds)).toBe(story);
    const streamed = storyIds.flatMap((id, i) => Array.from(sentencePiece.tokenBytes(i ? storyIds[i - 1] : -1, id)));
    expect(new TextDecoder().decode(Uint8Array.from(streamed))).toBe(story);
  }, 60_000);
});
