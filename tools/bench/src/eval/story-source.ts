import { readFileSync } from "node:fs";
import { basename, join } from "node:path";
import { modelsDataDirectory, type EvaluationModel } from "./models-data.js";

/** Where evaluation stories come from, as recorded in the JSON. */
export interface StorySource {
  readonly name: string;
  /** "stories": `<|endoftext|>`-separated stories, each from BOS; "windows": plain text cut into context-length windows. */
  readonly kind: "stories" | "windows";
  /** Story k (1-based) as token ids, cut to the model's context; undefined past the end. */
  sequence(model: EvaluationModel, index: number): number[] | undefined;
  /** Number of stories or windows available for this model. */
  count(model: EvaluationModel): number;
}

const separator = "<|endoftext|>";

/**
 * The default TinyStories validation file (story 1 = its second row; row 0 is a partial story, SOURCES.md)
 * or a user's file: `<|endoftext|>`-separated stories, or any plain text split into windows of the context.
 */
export function storySource(textFile?: string): StorySource {
  const path = textFile ?? join(modelsDataDirectory(), "tinystories-valid-first600.txt");
  const text = readFileSync(path, "utf8").replace(/\r/g, "");
  const name = textFile ? basename(textFile) : "tinystories-valid-first600.txt (TinyStories validation)";
  if (text.includes(separator)) {
    const stories = text.split(separator).map((story) => story.trim()).filter((story) => story.length > 0);
    const offset = textFile ? 0 : 1;
    return {
      name,
      kind: "stories",
      sequence: (model, index) => {
        const story = stories[index - 1 + offset];
        return story === undefined ? undefined : model.tokenizer.encode(story, { bos: true }).slice(0, model.contextLength);
      },
      count: () => stories.length - offset,
    };
  }
  const windowsFor = new Map<EvaluationModel, number[][]>();
  const windows = (model: EvaluationModel) => {
    let cached = windowsFor.get(model);
    if (!cached) {
      const tokens = model.tokenizer.encode(text.replace(/\s+/g, " ").trim(), { bos: false });
      const length = model.contextLength - 1; // room for BOS
      cached = [];
      for (let start = 0; start + length <= tokens.length; start += length) cached.push([model.tokenizer.bosId, ...tokens.slice(start, start + length)]);
      windowsFor.set(model, cached);
    }
    return cached;
  };
  return { name, kind: "windows", sequence: (model, index) => windows(model)[index - 1], count: (model) => windows(model).length };
}

/** "a..b" (inclusive, 1-based) or a count N starting after `after`: the story numbers it names. */
export function storyRange(text: string, after: number): { first: number; last: number } {
  const match = /^(\d+)\.\.(\d+)$/.exec(text.trim());
  if (match) {
    const first = Number(match[1]);
    const last = Number(match[2]);
    if (first < 1 || last < first) throw new Error(`story range ${text} must be a..b with 1 ≤ a ≤ b`);
    return { first, last };
  }
  const count = Number(text);
  if (!Number.isInteger(count) || count < 1) throw new Error(`expected a story count or a range a..b, got ${text}`);
  return { first: after + 1, last: after + count };
}
