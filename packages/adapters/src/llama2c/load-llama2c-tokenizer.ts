import { asUint8Array } from "../model/bytes.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";

/**
 * Parses a llama2.c tokenizer.bin (int32 max_token_length, then per token: float32 score, int32
 * byte length, UTF-8 bytes) holding `vocabSize` tokens, the model's vocab_size. A file holding more
 * or fewer tokens belongs to another model and is refused with a ModelFormatError naming both sizes.
 */
export function loadLlama2cTokenizer(bytes: ArrayBuffer | Uint8Array, vocabSize: number): SentencePieceBpeTokenizer {
  if (!(Number.isInteger(vocabSize) && vocabSize > 3)) {
    throw new ModelFormatError("llama2c-tokenizer", "bad-header", `llama2.c tokenizer: vocabSize must be an integer > 3, got ${vocabSize}`);
  }
  const data = asUint8Array(bytes);
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const decoder = new TextDecoder("utf-8", { fatal: false });
  if (data.byteLength < 4) {
    throw new ModelFormatError("llama2c-tokenizer", "truncated", `llama2.c tokenizer truncated: expected a 4-byte header, file has ${data.byteLength} bytes`);
  }
  const maxTokenLength = view.getInt32(0, true);
  if (!(maxTokenLength > 0)) {
    throw new ModelFormatError("llama2c-tokenizer", "bad-header", `llama2.c tokenizer header: max_token_length must be positive, got ${maxTokenLength}`);
  }
  const pieces: string[] = [];
  const scores = new Float32Array(vocabSize);
  let offset = 4;
  let longest = 0;
  for (let id = 0; id < vocabSize; id++) {
    // A file that ends cleanly between tokens, after a token as long as the header's maximum (the
    // exporter writes the maximum over all tokens), is whole: the tokenizer of a smaller vocabulary.
    if (offset === data.byteLength && longest === maxTokenLength) throw vocabularyMismatch(id, vocabSize);
    if (offset + 8 > data.byteLength) {
      throw new ModelFormatError(
        "llama2c-tokenizer",
        "truncated",
        `llama2.c tokenizer truncated: expected ${offset + 8} bytes for the score and length of token ${id} of ${vocabSize}, file has ${data.byteLength}`,
      );
    }
    scores[id] = view.getFloat32(offset, true);
    const length = view.getInt32(offset + 4, true);
    offset += 8;
    if (length < 0 || length > maxTokenLength) {
      throw new ModelFormatError("llama2c-tokenizer", "bad-header", `llama2.c tokenizer: token ${id} has length ${length}, outside [0, max_token_length ${maxTokenLength}]`);
    }
    if (offset + length > data.byteLength) {
      throw new ModelFormatError(
        "llama2c-tokenizer",
        "truncated",
        `llama2.c tokenizer truncated: expected ${offset + length} bytes for the text of token ${id} of ${vocabSize}, file has ${data.byteLength}`,
      );
    }
    longest = Math.max(longest, length);
    pieces.push(decoder.decode(data.subarray(offset, offset + length)));
    offset += length;
    if (!Number.isFinite(scores[id])) {
      throw new ModelFormatError("llama2c-tokenizer", "non-finite", `llama2.c tokenizer: token ${id} has a non-finite score ${scores[id]}`);
    }
  }
  // run.c ignores what follows; here it means the tokenizer belongs to a larger vocabulary.
  if (offset < data.byteLength) {
    const tokens = countTokens(view, offset, maxTokenLength);
    if (tokens === undefined) {
      throw new ModelFormatError(
        "llama2c-tokenizer",
        "bad-shape",
        `llama2.c tokenizer: ${data.byteLength - offset} bytes follow the ${vocabSize} tokens of the model's vocab_size and do not parse as further tokens`,
      );
    }
    throw vocabularyMismatch(vocabSize + tokens, vocabSize);
  }
  return new SentencePieceBpeTokenizer({ pieces, scores, bosId: 1, eosId: 2 });
}

function vocabularyMismatch(tokenizerSize: number, vocabSize: number): ModelFormatError {
  return new ModelFormatError(
    "llama2c-tokenizer",
    "bad-shape",
    `llama2.c tokenizer holds ${tokenizerSize} tokens but the model's vocab_size is ${vocabSize}: the tokenizer does not belong to this model`,
  );
}

/** How many whole (score, length, text) records fill view from offset to its end; undefined if they do not fit exactly. */
function countTokens(view: DataView, offset: number, maxTokenLength: number): number | undefined {
  let tokens = 0;
  while (offset < view.byteLength) {
    if (offset + 8 > view.byteLength) return undefined;
    const length = view.getInt32(offset + 4, true);
    if (length < 0 || length > maxTokenLength) return undefined;
    offset += 8 + length;
    tokens++;
  }
  return offset === view.byteLength ? tokens : undefined;
}
