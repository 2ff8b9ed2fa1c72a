import { ModelFormatError } from "../model/model-format-error.js";
import { bpePreTokenizer, bpePreTokenizerNames } from "../tokenizers/bpe-pre-tokenizers.js";
import { ByteLevelBpeTokenizer } from "../tokenizers/byte-level-bpe-tokenizer.js";
import { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import type { GgufFile } from "./gguf-file.js";

// Tokens llama.cpp treats as end of generation by their text (llama_vocab::impl::load builds
// special_eog_ids from these, beside the eos / eot / eom ids the metadata names).
const endOfGenerationTexts = new Set(["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "_<EOT>", "<|end_of_text|>", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]);

function stringArray(file: GgufFile, key: string): string[] {
  const value = file.metadata.get(key);
  if (value === undefined) throw new ModelFormatError("gguf", "bad-metadata", `GGUF tokenizer needs ${key}`);
  if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) throw new ModelFormatError("gguf", "bad-metadata", `GGUF ${key} must be an array of strings`);
  return value as string[];
}

function optionalId(file: GgufFile, key: string, vocabSize: number): number | undefined {
  const value = file.metadata.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value >= vocabSize) {
    throw new ModelFormatError("gguf", "bad-metadata", `GGUF ${key} must be a token id in [0, ${vocabSize}), got ${JSON.stringify(String(value))}`);
  }
  return value;
}

function optionalBool(file: GgufFile, key: string): boolean | undefined {
  const value = file.metadata.get(key);
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new ModelFormatError("gguf", "bad-metadata", `GGUF ${key} must be a bool`);
  return value;
}

function tokenTypes(file: GgufFile, count: number): number[] | undefined {
  const value = file.metadata.get("tokenizer.ggml.token_type");
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((type) => typeof type !== "number")) throw new ModelFormatError("gguf", "bad-metadata", "GGUF tokenizer.ggml.token_type must be an array of integers");
  if (value.length !== count) throw new ModelFormatError("gguf", "bad-metadata", `GGUF tokenizer.ggml.token_type has ${value.length} entries but tokenizer.ggml.tokens has ${count}`);
  return value as number[];
}

/** eos, the eot / eom ids the file names, and the tokens llama.cpp stops at by their text. */
function stopTokens(file: GgufFile, tokens: readonly string[], eosId: number): number[] {
  const ids = new Set([eosId]);
  for (const key of ["tokenizer.ggml.eot_token_id", "tokenizer.ggml.eom_token_id"]) {
    const id = optionalId(file, key, tokens.length);
    if (id !== undefined) ids.add(id);
  }
  tokens.forEach((piece, id) => {
    if (endOfGenerationTexts.has(piece)) ids.add(id);
  });
  return [...ids];
}

/** The tokenizer a GGUF file embeds, for `tokenizer.ggml.model` "gpt2" (byte-level BPE) or "llama" (SentencePiece). */
export type GgufTokenizer = ByteLevelBpeTokenizer | SentencePieceBpeTokenizer;

/**
 * The tokenizer embedded in a GGUF file, as llama.cpp builds it: `tokenizer.ggml.model = "gpt2"`
 * gives a ByteLevelBpeTokenizer with the pre-tokenizer `tokenizer.ggml.pre` names (missing: llama.cpp's
 * "default"; unknown: an error, rather than ids that differ from llama.cpp's), `"llama"` the
 * SentencePiece tokenizer (byte fallback through its `<0xNN>` pieces). BOS / EOS ids, `add_bos_token`,
 * `add_eos_token` and the end-of-generation tokens come from the metadata with llama.cpp's defaults.
 * Undefined when the file has no tokenizer.
 */
export function ggufTokenizer(file: GgufFile): GgufTokenizer | undefined {
  const model = file.metadata.get("tokenizer.ggml.model");
  if (model === undefined) return undefined;
  if (model !== "gpt2" && model !== "llama") {
    throw new ModelFormatError("gguf", "unsupported", `GGUF tokenizer.ggml.model ${JSON.stringify(model)} is not supported ("gpt2" and "llama" are)`);
  }
  const tokens = stringArray(file, "tokenizer.ggml.tokens");
  if (tokens.length === 0) throw new ModelFormatError("gguf", "bad-metadata", "GGUF tokenizer.ggml.tokens is empty");
  const types = tokenTypes(file, tokens.length);
  if (model === "llama") {
    const scoreValues = file.metadata.get("tokenizer.ggml.scores");
    const scores = new Float32Array(tokens.length);
    if (scoreValues !== undefined) {
      if (!Array.isArray(scoreValues) || scoreValues.length !== tokens.length || scoreValues.some((score) => typeof score !== "number")) {
        throw new ModelFormatError("gguf", "bad-metadata", `GGUF tokenizer.ggml.scores must hold one number per token (${tokens.length})`);
      }
      scoreValues.forEach((score, i) => (scores[i] = score as number));
    }
    // llama.cpp's SPM defaults: BOS 1, EOS 2, add_bos true.
    const bosId = optionalId(file, "tokenizer.ggml.bos_token_id", tokens.length) ?? 1;
    const eosId = optionalId(file, "tokenizer.ggml.eos_token_id", tokens.length) ?? 2;
    return new SentencePieceBpeTokenizer({
      pieces: tokens.map((piece) => piece.replaceAll("\u2581", " ")),
      scores,
      bosId,
      eosId,
      stopTokenIds: stopTokens(file, tokens, eosId),
      addBos: optionalBool(file, "tokenizer.ggml.add_bos_token") ?? true,
      addEos: optionalBool(file, "tokenizer.ggml.add_eos_token") ?? false,
    });
  }
  const merges = stringArray(file, "tokenizer.ggml.merges");
  const preName = file.metadata.get("tokenizer.ggml.pre") ?? "default";
  const preTokenizer = typeof preName === "string" ? bpePreTokenizer(preName) : undefined;
  if (!preTokenizer) throw new ModelFormatError("gguf", "unsupported", `GGUF tokenizer.ggml.pre ${JSON.stringify(preName)} is not a pre-tokenizer kvpack knows (known: ${bpePreTokenizerNames.join(", ")})`);
  // llama.cpp's BPE default for both is token 11 when the file names none.
  const eosId = optionalId(file, "tokenizer.ggml.eos_token_id", tokens.length) ?? Math.min(11, tokens.length - 1);
  return new ByteLevelBpeTokenizer({
    tokens,
    merges,
    tokenTypes: types,
    preTokenizer,
    bosId: optionalId(file, "tokenizer.ggml.bos_token_id", tokens.length) ?? Math.min(11, tokens.length - 1),
    eosId,
    stopTokenIds: stopTokens(file, tokens, eosId),
    addBos: optionalBool(file, "tokenizer.ggml.add_bos_token"),
    addEos: optionalBool(file, "tokenizer.ggml.add_eos_token"),
  });
}
