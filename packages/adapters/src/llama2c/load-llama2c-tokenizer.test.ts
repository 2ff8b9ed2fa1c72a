import { describe, expect, it } from "vitest";
import { ModelFormatError } from "../model/model-format-error.js";
import { readModelsData } from "../model/test-models-data.js";
import { loadLlama2cModel } from "./load-llama2c-model.js";
import { loadLlama2cTokenizer } from "./load-llama2c-tokenizer.js";

function loadError(bytes: Uint8Array, vocabSize: number): ModelFormatError {
  try {
    loadLlama2cTokenizer(bytes, vocabSize);
  } catch (error) {
    if (ModelFormatError.isInstance(error)) return error;
    throw error;
  }
  throw new Error(`loadLlama2cTokenizer accepted vocabSize ${vocabSize}`);
}

describe("loadLlama2cTokenizer vocabulary size checks", () => {
  // Token counts from SOURCES.md: tok512.bin 512, tok105.bin 105, tokenizer.bin 32000.
  it.each([
    { file: "tokenizer.bin", fileSize: 32000, vocabSize: 512 },
    { file: "tok512.bin", fileSize: 512, vocabSize: 32000 },
    { file: "tok512.bin", fileSize: 512, vocabSize: 105 },
    { file: "tok105.bin", fileSize: 105, vocabSize: 512 },
  ])("refuses $file ($fileSize tokens) for a model with vocab_size $vocabSize, naming both sizes", ({ file, fileSize, vocabSize }) => {
    const error = loadError(readModelsData(file), vocabSize);
    expect(error.format).toBe("llama2c-tokenizer");
    expect(error.code).toBe("bad-shape");
    expect(error.message).toBe(`llama2.c tokenizer holds ${fileSize} tokens but the model's vocab_size is ${vocabSize}: the tokenizer does not belong to this model`);
  });

  it("loads each tokenizer at its own size", () => {
    for (const [file, vocabSize] of [["tok512.bin", 512], ["tok105.bin", 105], ["tokenizer.bin", 32000]] as const) {
      expect(loadLlama2cTokenizer(readModelsData(file), vocabSize).vocabSize).toBe(vocabSize);
    }
  });

  it("tells trailing bytes that are not tokens from a larger vocabulary, and a cut inside a token from both", () => {
    const tok512 = readModelsData("tok512.bin");
    const padded = new Uint8Array(tok512.length + 3);
    padded.set(tok512);
    expect(loadError(padded, 512).message).toBe("llama2.c tokenizer: 3 bytes follow the 512 tokens of the model's vocab_size and do not parse as further tokens");
    // Cut 1 byte into the last token's text: a truncated file, not a smaller vocabulary.
    expect(loadError(tok512.subarray(0, tok512.length - 1), 512).code).toBe("truncated");
    // Cut after token 10 of 512: a record boundary, but no token so far reaches the header's
    // max_token_length 7 (the exporter's maximum over all tokens), so this too is a truncated file.
    let offset = 4;
    for (let id = 0; id < 10; id++) offset += 8 + new DataView(tok512.buffer, tok512.byteOffset).getInt32(offset + 4, true);
    expect(loadError(tok512.subarray(0, offset), 512).message).toMatch(/^llama2.c tokenizer truncated: expected \d+ bytes for the score and length of token 10 of 512/);
  });

  it("loadLlama2cModel rejects a checkpoint paired with another model's tokenizer", async () => {
    // stories260K has vocab_size 512 (SOURCES.md); tokenizer.bin is the 32000-token Llama 2 vocabulary.
    await expect(loadLlama2cModel(readModelsData("stories260K.bin"), readModelsData("tokenizer.bin"))).rejects.toThrowError(
      "llama2.c tokenizer holds 32000 tokens but the model's vocab_size is 512",
    );
  });
});
