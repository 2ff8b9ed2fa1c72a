import { readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { SeededRandom } from "../generation/seeded-random.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { modelsDataDirectory, readModelsData, readTinyStories } from "../model/test-models-data.js";
import { SentencePieceBpeTokenizer } from "./sentencepiece-bpe-tokenizer.js";

/**
 * A direct transcription of llama2.c run.c encode(): rescans every pair with a string lookup each
 * round (quadratic; the reference the heap-based encode must match token for token).
 */
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

  it("encodes like run.c on TinyStories validation stories 1–50 and round-trips the text", () => {
    for (const story of readTinyStories().slice(1, 51)) {
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

/** Random text mixing ASCII words, punctuation, accented letters, CJK, emoji (surrogate pairs) and controls. */
function randomText(random: SeededRandom, length: number): string {
  const alphabet = ["a", "e", "t", "o", "n", "s", " ", " ", "  ", ".", ",", "\n", "\t", "é", "ü", "ß", "你", "好", "日", "😀", "🦙", "\u0000", "\u00a0", "Ω", "ж"];
  let text = "";
  for (let i = 0; i < length; i++) text += alphabet[random.nextUint32() % alphabet.length];
  return text;
}

describe("heap-based merge order equals run.c", () => {
  const tok512 = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
  const llama = loadLlama2cTokenizer(readModelsData("tokenizer.bin"), 32000);

  it("on wikitext-2 test lines with the 32000-token llama2.c tokenizer.bin", () => {
    const lines = readFileSync(path.join(modelsDataDirectory, "wikitext-2-raw-test.raw"), "utf8")
      .split("\n")
      .filter((line) => line.trim().length > 0)
      .slice(0, 60);
    for (const line of lines) {
      const ids = llama.encode(line, { bos: true });
      expect(ids).toEqual(runCEncode(llama, line));
      expect(llama.decode(ids)).toBe(line);
    }
  });

  it("on random unicode text that needs byte fallback, with tok512.bin and tokenizer.bin", () => {
    const random = new SeededRandom(20261123);
    for (let sample = 0; sample < 40; sample++) {
      const text = randomText(random, 1 + (random.nextUint32() % 300));
      for (const tokenizer of [tok512, llama]) {
        const ids = tokenizer.encode(text, { bos: true });
        expect(ids).toEqual(runCEncode(tokenizer, text));
        expect(tokenizer.decode(ids)).toBe(text);
      }
    }
  });

  it("breaks score ties toward the leftmost pair and never merges at or below run.c's -1e10 floor", () => {
    // Hand-built vocabulary: "aa" and "ab" tie at score 1, "ba" (score 2) beats both, "bb" sits at -1e10.
    const pieces = ["<unk>", "<s>", "</s>", " ", "a", "b", "aa", "ab", "ba", "bb"];
    const scores = Float32Array.of(0, 0, 0, 0, 0, 0, 1, 1, 2, -1e10);
    const tokenizer = new SentencePieceBpeTokenizer({ pieces, scores });
    const id = (piece: string): number => pieces.indexOf(piece);
    // " aaa": pairs aa@1 and aa@2 tie, so the left one merges first: " " "aa" "a".
    expect(tokenizer.encode("aaa")).toEqual([id(" "), id("aa"), id("a")]);
    // " aab": aa@1 and ab@2 tie at 1 → aa wins (leftmost), leaving " " "aa" "b".
    expect(tokenizer.encode("aab")).toEqual([id(" "), id("aa"), id("b")]);
    // " aba": ba@2 (score 2) beats ab@1 (score 1) although it lies to the right.
    expect(tokenizer.encode("aba")).toEqual([id(" "), id("a"), id("ba")]);
    // " bb": the only pair scores exactly -1e10, which run.c's strict > never accepts.
    expect(tokenizer.encode("bb")).toEqual([id(" "), id("b"), id("b")]);
    for (const text of ["aaa", "aab", "aba", "bb", "abababaabba", "aaaaaaaa"]) expect(tokenizer.encode(text, { bos: true })).toEqual(runCEncode(tokenizer, text));
  });
});
