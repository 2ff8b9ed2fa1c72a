import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Llama, LlamaModel, Token } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GgufFile } from "../gguf/gguf-file.js";
import { ggufTokenizer } from "../gguf/gguf-tokenizer.js";
import type { GgufWriterValue } from "../gguf/gguf-writer.js";
import { getOracleLlama } from "../gguf/test-llama-cpp-oracle.js";
import { writeTinyLlamaGguf } from "../gguf/test-tiny-llama-gguf.js";
import { writeLlamaGguf } from "../gguf/write-llama-gguf.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import type { LlamaWeights } from "../model/llama-weights.js";
import { modelsDataDirectory, readModelsData } from "../model/test-models-data.js";
import type { Tokenizer } from "./tokenizer.js";

// Same token ids as llama.cpp (node-llama-cpp 3.21.1 `model.tokenize(text, special)`, no BOS) for real
// vocabularies written into GGUF files by kvpack's writer, and the same BOS / add_bos / end-of-generation
// tokens. Texts are cut into pieces of 20 lines, newlines kept, so whitespace runs across lines are in.
// CI compares the first 300 lines of wikitext-2 and 100 of TinyStories; KVPACK_TOKENIZER_FULL=1 compares
// the whole wikitext-2 test text (1.29 MB) and the whole TinyStories file (0.49 MB).
const full = process.env.KVPACK_TOKENIZER_FULL === "1";
const wikitext = readFileSync(path.join(modelsDataDirectory, "wikitext-2-raw-test.raw"), "utf8");
const tinyStories = readFileSync(path.join(modelsDataDirectory, "tinystories-valid-first600.txt"), "utf8");
function pieces(text: string, lineLimit: number): string[] {
  const lines = text.split("\n").slice(0, full ? undefined : lineLimit);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i += 20) out.push(lines.slice(i, i + 20).join("\n") + "\n");
  return out;
}
const unicodeStress = [
  "Emoji 😀👍🏽 family 👨‍👩‍👧‍👦 flags 🇫🇷🇯🇵 and ❤️",
  "中文分词测试，日本語のテキスト、한국어 문장입니다。",
  "Combining: e\u0301 a\u0308 n\u0303 Z\u0351\u0307\u0308 \u0915\u094d\u0937 \u0e01\u0e34",
  "Lone surrogates \ud800 and \udfff become U+FFFD",
  "Control \u0000\u0001\u0007\t\u000b\f\r\n\u001b[0m\u007f\u0085\u00a0\u2028 end",
  "Spaces:      eight   then\t\ttabs\n\n\nnewlines   \n  ",
  "Digits 1234567890 12 345 6789012345678901234567890 3.14159 1,000,000",
  "Contractions: I'm you're it's we'll they'd can't DON'T I'M",
  "Mixed <|endoftext|> inside text and <s> </s> [INST] tags",
  "A" + " ".repeat(100) + "B" + "9".repeat(80),
  "   leading spaces, trailing spaces   ",
  "\n\n\nleading newlines",
];
// Special tokens appended to the GPT-2 vocabulary: control tokens match only with `special`, a
// user-defined one always (llama.cpp tokenizer_st_partition).
const extraTokens = [
  { piece: "<|im_start|>", type: 3 },
  { piece: "<|im_end|>", type: 3 },
  { piece: "<|eot_id|>", type: 3 },
  { piece: "<tool_call>", type: 4 },
];
const specialTexts = [
  "<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n",
  "Text<|eot_id|>more <|endoftext|>and a <tool_call> here",
  "<|im_end|><|im_end|>  <|im_start|> spaced <|im_start|>",
  "broken <|im_end and <|im_ends|> and <tool_call>x</tool_call>",
];

describe("GGUF tokenizers give llama.cpp's token ids", () => {
  let llama: Llama;
  const directory = mkdtempSync(path.join(tmpdir(), "kvpack-tokenizer-"));
  const models: LlamaModel[] = [];
  beforeAll(async () => {
    llama = await getOracleLlama();
  });
  afterAll(async () => {
    for (const model of models) await model.dispose();
    rmSync(directory, { recursive: true, force: true });
  });

  async function load(name: string, bytes: Uint8Array): Promise<{ ours: Tokenizer; theirs: LlamaModel }> {
    const file = path.join(directory, `${name}.gguf`);
    writeFileSync(file, bytes);
    const theirs = await llama.loadModel({ modelPath: file, vocabOnly: true });
    models.push(theirs);
    return { ours: ggufTokenizer(new GgufFile(bytes))!, theirs };
  }

  /** Compares ids (and, for lossless texts, decode back to the text); returns the number of tokens compared. */
  function compare(ours: Tokenizer, theirs: LlamaModel, texts: readonly string[], special = false): number {
    let compared = 0;
    for (const text of texts) {
      const expected = Array.from(theirs.tokenize(text, special), Number);
      const ids = ours.encode(text, { bos: false, special });
      expect(ids, JSON.stringify(text.slice(0, 80))).toEqual(expected);
      compared += expected.length;
    }
    return compared;
  }

  /** BOS, add_bos / add_eos and the end-of-generation set against llama.cpp's. */
  function compareSpecialIds(ours: Tokenizer & { addBos: boolean; addEos: boolean }, theirs: LlamaModel): void {
    expect(ours.bosId).toBe(theirs.tokens.bos);
    expect(ours.addBos).toBe(theirs.tokens.shouldPrependBosToken);
    expect(ours.addEos).toBe(theirs.tokens.shouldAppendEosToken);
    const theirStops: number[] = [];
    for (let id = 0; id < ours.vocabSize; id++) if (theirs.isEogToken(id as Token)) theirStops.push(id);
    expect([...ours.stopTokenIds].sort((a, b) => a - b)).toEqual(theirStops);
  }

  // GPT-2's encoder.json / vocab.bpe as a "gpt2" GGUF; each pre-tokenizer name selects llama.cpp's regexes.
  const encoder = JSON.parse(readFileSync(path.join(modelsDataDirectory, "gpt2-encoder.json"), "utf8")) as Record<string, number>;
  const tokens: string[] = [];
  for (const [piece, id] of Object.entries(encoder)) tokens[id] = piece;
  const merges = readFileSync(path.join(modelsDataDirectory, "gpt2-vocab.bpe"), "utf8")
    .split("\n")
    .filter((line) => line && !line.startsWith("#version"));
  const allTokens = [...tokens, ...extraTokens.map((token) => token.piece)];
  const types = allTokens.map((_, id) => (id === 50256 ? 3 : (extraTokens[id - tokens.length]?.type ?? 1)));
  const gpt2Metadata = (pre: string, extra: Readonly<Record<string, GgufWriterValue>> = {}): Record<string, GgufWriterValue> => ({
    "tokenizer.ggml.model": { type: "string", value: "gpt2" },
    "tokenizer.ggml.pre": { type: "string", value: pre },
    "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: allTokens },
    "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: types },
    "tokenizer.ggml.merges": { type: "array", itemType: "string", value: merges },
    "tokenizer.ggml.bos_token_id": { type: "uint32", value: 50256 },
    "tokenizer.ggml.eos_token_id": { type: "uint32", value: 50256 },
    ...extra,
  });
  const totals: Record<string, number> = {};

  it.each(["gpt-2", "llama-bpe", "qwen2", "smollm", "default"])("GPT-2 BPE vocabulary with pre-tokenizer %s", async (pre) => {
    const { ours, theirs } = await load(`gpt2-${pre}`, writeTinyLlamaGguf(allTokens.length, gpt2Metadata(pre)));
    const texts = [...pieces(wikitext, 300), ...pieces(tinyStories, 100), ...unicodeStress];
    let compared = compare(ours, theirs, texts);
    compared += compare(ours, theirs, [...specialTexts, ...pieces(tinyStories, 40)], true);
    expect(compared).toBeGreaterThan(full ? 400_000 : 20_000);
    totals[pre] = compared;
    compareSpecialIds(ours as never, theirs);
    // Byte-level BPE is lossless: decode gives the text back (lone surrogates as U+FFFD). llama.cpp's
    // detokenize gives the same string where it does not clean up spaces (clean_spaces is false for
    // qwen2 and smollm; for the others it drops the space before punctuation, which kvpack does not).
    for (const text of texts) {
      const ids = ours.encode(text, { bos: false });
      expect(ours.decode(ids)).toBe(text.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd"));
    }
    for (const text of ["qwen2", "smollm"].includes(pre) ? texts : []) {
      const ids = ours.encode(text, { bos: false });
      expect(theirs.detokenize(ids as Token[])).toBe(ours.decode(ids));
    }
  });

  it("add_bos_token / add_eos_token from the metadata override the pre-tokenizer's defaults", async () => {
    const { ours, theirs } = await load("gpt2-flags", writeTinyLlamaGguf(allTokens.length, gpt2Metadata("llama-bpe", {
      "tokenizer.ggml.add_bos_token": { type: "bool", value: false },
      "tokenizer.ggml.add_eos_token": { type: "bool", value: true },
      "tokenizer.ggml.eot_token_id": { type: "uint32", value: tokens.length + 2 },
    })));
    compareSpecialIds(ours as never, theirs);
    expect(ours.encode("Hi")).toEqual([...Array.from(theirs.tokenize("Hi"), Number), 50256]);
  });

  it("Llama 2 SentencePiece vocabulary (32,000 pieces, byte fallback) written by writeLlamaGguf", async () => {
    const tokenizer = loadLlama2cTokenizer(readModelsData("tokenizer.bin"), 32000);
    const dim = 32;
    const zeros = (n: number) => new Float32Array(n);
    const layer = { attentionNorm: zeros(dim).fill(1), wq: zeros(dim * dim), wk: zeros(dim * dim), wv: zeros(dim * dim), wo: zeros(dim * dim), ffnNorm: zeros(dim).fill(1), w1: zeros(dim * dim), w2: zeros(dim * dim), w3: zeros(dim * dim) };
    const embedding = zeros(32000 * dim);
    const weights: LlamaWeights = {
      config: { dim, hiddenDim: dim, layers: 1, heads: 4, kvHeads: 4, vocabSize: 32000, maxSequenceLength: 64, headDim: 8, ropeTheta: 10000, normEpsilon: 1e-5, sharedClassifier: true },
      tokenEmbedding: embedding,
      layers: [layer],
      finalNorm: zeros(dim).fill(1),
      classifier: embedding,
    };
    const { ours, theirs } = await load("llama2", writeLlamaGguf(weights, tokenizer, { tensorType: "F16" }));
    const compared = compare(ours, theirs, [...pieces(wikitext, 300), ...pieces(tinyStories, 100), ...unicodeStress]);
    expect(compared).toBeGreaterThan(full ? 400_000 : 20_000);
    totals.sentencepiece = compared;
    compareSpecialIds(ours as never, theirs);
    console.log(`tokens compared with llama.cpp: ${JSON.stringify(totals)}`);
  });
});
