import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import type { EvaluationModel } from "./models-data.js";
import { storyRange, storySource } from "./story-source.js";

/** One token per character (code point), BOS = 1: enough to check splitting and windows. */
const model = {
  name: "fake",
  contextLength: 6,
  tokenizer: { bosId: 1, encode: (text: string, options?: { bos?: boolean }) => [...(options?.bos ? [1] : []), ...[...text].map((character) => character.codePointAt(0) ?? 0)] },
} as unknown as EvaluationModel;

describe("story sources", () => {
  const directory = mkdtempSync(join(tmpdir(), "kvpack-stories-"));

  it("splits <|endoftext|> files into stories from BOS, cut to the context, story 1 = the first", () => {
    const path = join(directory, "stories.txt");
    writeFileSync(path, "ab<|endoftext|>\ncdefghij\n<|endoftext|>  <|endoftext|>k");
    const source = storySource(path);
    expect(source.kind).toBe("stories");
    expect(source.count(model)).toBe(3); // the blank story between two separators is dropped
    expect(source.sequence(model, 1)).toEqual([1, 97, 98]);
    expect(source.sequence(model, 2)).toEqual([1, 99, 100, 101, 102, 103]); // 6 = context
    expect(source.sequence(model, 4)).toBeUndefined();
  });

  it("cuts plain text into context windows, each BOS + context − 1 tokens", () => {
    const path = join(directory, "plain.txt");
    writeFileSync(path, "abcde fghij\nklm");
    const source = storySource(path);
    expect(source.kind).toBe("windows");
    // "abcde fghij klm" = 15 characters → windows of 5: [abcde] [ fghi] [j klm]
    expect(source.count(model)).toBe(3);
    expect(source.sequence(model, 2)).toEqual([1, 32, 102, 103, 104, 105]);
  });

  it("reads a..b ranges and counts after an offset, rejecting bad ones", () => {
    expect(storyRange("3..12", 0)).toEqual({ first: 3, last: 12 });
    expect(storyRange("40", 8)).toEqual({ first: 9, last: 48 });
    expect(() => storyRange("5..2", 0)).toThrow(/a\.\.b/);
    expect(() => storyRange("x", 0)).toThrow(/story count/);
  });
});
