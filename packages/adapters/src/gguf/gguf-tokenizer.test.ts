import { describe, expect, it } from "vitest";
import { ModelFormatError } from "../model/model-format-error.js";
import { ByteLevelBpeTokenizer } from "../tokenizers/byte-level-bpe-tokenizer.js";
import { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { GgufFile } from "./gguf-file.js";
import { ggufTokenizer } from "./gguf-tokenizer.js";
import { type GgufWriterValue, writeGguf } from "./gguf-writer.js";

// A tiny byte-level vocabulary: "Ġ" is the space byte in GPT-2's byte alphabet.
const tokens = ["a", "b", "Ġ", "ab", "Ġab", "<|endoftext|>", "<|im_end|>"];
const base: Record<string, GgufWriterValue> = {
  "tokenizer.ggml.model": { type: "string", value: "gpt2" },
  "tokenizer.ggml.pre": { type: "string", value: "qwen2" },
  "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: tokens },
  "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: [1, 1, 1, 1, 1, 3, 3] },
  "tokenizer.ggml.merges": { type: "array", itemType: "string", value: ["a b", "Ġ ab"] },
  "tokenizer.ggml.eos_token_id": { type: "uint32", value: 5 },
};
const file = (changes: Record<string, GgufWriterValue | undefined>) => {
  const metadata = { ...base, ...changes };
  for (const key of Object.keys(metadata)) if (metadata[key] === undefined) delete metadata[key];
  return new GgufFile(writeGguf(metadata as Record<string, GgufWriterValue>, []));
};
function formatError(changes: Record<string, GgufWriterValue | undefined>): ModelFormatError {
  try {
    ggufTokenizer(file(changes));
  } catch (error) {
    if (ModelFormatError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a ModelFormatError");
}

describe("ggufTokenizer", () => {
  it("builds the byte-level BPE tokenizer: merges by rank, specials only with `special`, stop tokens by id and by text", () => {
    const tokenizer = ggufTokenizer(file({}));
    expect(tokenizer).toBeInstanceOf(ByteLevelBpeTokenizer);
    // "ab ab": pieces "ab", " ab" → "a b" merges first, then "Ġ ab".
    expect(tokenizer!.encode("ab ab")).toEqual([3, 4]);
    expect(tokenizer!.encode("ab<|im_end|>", { special: true })).toEqual([3, 6]);
    expect(tokenizer!.decode([3, 4, 6])).toBe("ab ab"); // control tokens decode to nothing
    // eos 5 ("<|endoftext|>") and "<|im_end|>" (6), which llama.cpp treats as end of generation by its text.
    expect([...tokenizer!.stopTokenIds].sort()).toEqual([5, 6]);
    expect(ggufTokenizer(new GgufFile(writeGguf({ "general.architecture": { type: "string", value: "llama" } }, [])))).toBeUndefined();
  });

  it("the \"llama\" model gives the SentencePiece tokenizer with llama.cpp's defaults (BOS 1, EOS 2, add_bos)", () => {
    const spm = ggufTokenizer(
      file({
        "tokenizer.ggml.model": { type: "string", value: "llama" },
        "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: ["<unk>", "<s>", "</s>", "▁", "a", "▁a"] },
        "tokenizer.ggml.scores": { type: "array", itemType: "float32", value: [0, 0, 0, -1, -2, -0.5] },
        "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: [2, 3, 3, 1, 1, 1] },
        "tokenizer.ggml.merges": undefined,
        "tokenizer.ggml.eos_token_id": undefined,
      }),
    );
    expect(spm).toBeInstanceOf(SentencePieceBpeTokenizer);
    expect(spm!.encode("a")).toEqual([1, 5]);
    expect(spm!.stopTokenIds).toEqual([2]);
  });
});

describe("ggufTokenizer: malformed tokenizer metadata gives a ModelFormatError naming the problem", () => {
  it.each([
    ["a merge that refers to a token not in the vocabulary", { "tokenizer.ggml.merges": { type: "array", itemType: "string", value: ["a b", "b c"] } }, /merge 1 "b c" refers to "c", which is not in the vocabulary/],
    ["a merge whose join is not a token", { "tokenizer.ggml.merges": { type: "array", itemType: "string", value: ["b a"] } }, /merge 0 "b a" refers to "ba"/],
    ["a merge without a space", { "tokenizer.ggml.merges": { type: "array", itemType: "string", value: ["ab"] } }, /merge 0 "ab" is not "left right"/],
    ["no merges", { "tokenizer.ggml.merges": undefined }, /needs tokenizer.ggml.merges/],
    ["one token type too few", { "tokenizer.ggml.token_type": { type: "array", itemType: "int32", value: [1, 1, 1, 1, 1, 3] } }, /token_type has 6 entries but tokenizer.ggml.tokens has 7/],
    ["an unknown pre-tokenizer", { "tokenizer.ggml.pre": { type: "string", value: "my-own-regex" } }, /tokenizer.ggml.pre "my-own-regex" is not a pre-tokenizer kvpack knows \(known: default, llama3, .*qwen2/],
    ["an unknown tokenizer model", { "tokenizer.ggml.model": { type: "string", value: "t5" } }, /tokenizer.ggml.model "t5" is not supported/],
    ["an EOS id past the vocabulary", { "tokenizer.ggml.eos_token_id": { type: "uint32", value: 7 } }, /eos_token_id must be a token id in \[0, 7\), got "7"/],
    ["tokens that are not strings", { "tokenizer.ggml.tokens": { type: "array", itemType: "int32", value: [1, 2, 3] } }, /tokenizer.ggml.tokens must be an array of strings/],
    ["an empty vocabulary", { "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: [] }, "tokenizer.ggml.token_type": undefined }, /tokenizer.ggml.tokens is empty/],
  ] as const)("%s", (_name, changes, message) => {
    const error = formatError(changes as Record<string, GgufWriterValue | undefined>);
    expect(error.format).toBe("gguf");
    expect(error.message).toMatch(message);
  });

  it("SentencePiece scores of the wrong length", () => {
    const error = formatError({
      "tokenizer.ggml.model": { type: "string", value: "llama" },
      "tokenizer.ggml.scores": { type: "array", itemType: "float32", value: [0, 0] },
    });
    expect(error.message).toMatch(/scores must hold one number per token \(7\)/);
  });

  it("a vocabulary without a byte the text needs fails at encode, naming the byte", () => {
    expect(() => ggufTokenizer(file({}))!.encode("abc")).toThrow(/no token for the byte "c"/);
  });
});
