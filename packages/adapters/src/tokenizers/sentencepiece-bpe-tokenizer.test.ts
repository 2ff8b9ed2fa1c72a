import { describe, expect, it } from "vitest";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { readModelsData, readTinyStories } from "../model/test-models-data.js";
import type { SentencePieceBpeTokenizer } from "./sentencepiece-bpe-tokenizer.js";

/** A direct transcription of llama2.c run.c encode(): rescans every pair with a string lookup each round. */
function runCEncode(tokenizer: SentencePieceBpeTokenizer, text: string): number[] {
  const lookup = new Map<string, number>();
  for (let id = tokenizer.vocabSize - 1; id >= 0; id--) lookup.set(tokenizer.piece(id), id);
  const tokens = [1];
  if (text.length > 0) tokens.push(lookup.get(" ")!);
  for (const codePoint of text) {
    const id = lookup.get(codePoint);
    if (id !== undefined) tokens.push(id);
    else for (const byte of new TextEncoder().encode(codePoint)) tokens.push(byte + 3);
  }
  for (;;) {
    let bestScore = -1e10;
    let bestId = -1;
    let bestIndex = -1;
    for (let i = 0; i < tokens.length - 1; i++) {
      const id = lookup.get(tokenizer.piece(tokens[i]) + tokenizer.piece(tokens[i + 1]));
      if (id !== undefined && tokenizer.score(id) > bestScore) {
        bestScore = tokenizer.score(id);
        bestId = id;
        bestIndex = i;
      }
    }
    if (bestIndex < 0) return tokens;
    tokens.splice(bestIndex, 2, bestId);
  }
}

describe.each([
  // tok105 has no <0xNN> pieces, so (as in run.c) bytes such as "\n" fall back to ids byte + 3 and do not decode back.
  { file: "tok512.bin", vocabSize: 512, roundTrips: true },
  { file: "tok105.bin", vocabSize: 105, roundTrips: false },
])("SentencePieceBpeTokenizer $file", ({ file, vocabSize, roundTrips }) => {
  const tokenizer = loadLlama2cTokenizer(readModelsData(file), vocabSize);

  it("encodes like run.c on TinyStories validation stories 1–20 and round-trips the text", () => {
    for (const story of readTinyStories().slice(1, 21)) {
      const ids = tokenizer.encode(story, { bos: true });
      expect(ids).toEqual(runCEncode(tokenizer, story));
      if (roundTrips) expect(tokenizer.decode(ids)).toBe(story);
    }
  });

  it("handles empty text, eos and ids outside the vocabulary", () => {
    expect(tokenizer.encode("", { bos: true, eos: true })).toEqual([1, 2]);
    expect(() => tokenizer.decode([vocabSize])).toThrowError(`token id ${vocabSize} is outside the vocabulary [0, ${vocabSize})`);
  });
});

describe("byte fallback", () => {
  it("spells characters missing from tok512 as <0xNN> byte pieces and decodes them back whole", () => {
    const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
    // "你" is not a tok512 piece: its UTF-8 bytes E4 BD A0 become the pieces <0xE4> <0xBD> <0xA0> (ids byte + 3).
    const ids = tokenizer.encode("a你", { bos: true });
    expect(ids.slice(-3)).toEqual([0xe4 + 3, 0xbd + 3, 0xa0 + 3]);
    expect(tokenizer.piece(0xe4 + 3)).toBe("<0xE4>");
    expect(tokenizer.decode(ids)).toBe("a你");
    // One byte token alone is not valid UTF-8; decodeToken gives U+FFFD, tokenBytes the raw byte.
    expect(Array.from(tokenizer.tokenBytes(ids[0], 0xe4 + 3))).toEqual([0xe4]);
    expect(tokenizer.decodeToken(ids[0], 0xe4 + 3)).toBe("\uFFFD");
  });
});
