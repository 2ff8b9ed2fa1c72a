import { asUint8Array } from "../model/bytes.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";

/**
 * Parses a llama2.c tokenizer.bin (int32 max_token_length, then per token: float32 score, int32
 * byte length, UTF-8 bytes) holding `vocabSize` tokens, the model's vocab_size.
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
  for (let id = 0; id < vocabSize; id++) {
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
    pieces.push(decoder.decode(data.subarray(offset, offset + length)));
    offset += length;
    if (!Number.isFinite(scores[id])) {
      throw new ModelFormatError("llama2c-tokenizer", "non-finite", `llama2.c tokenizer: token ${id} has a non-finite score ${scores[id]}`);
    }
  }
  return new SentencePieceBpeTokenizer({ pieces, scores, bosId: 1, eosId: 2 });
}
