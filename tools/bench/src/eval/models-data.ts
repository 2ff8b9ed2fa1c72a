import { readFileSync } from "node:fs";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaRuntime, loadLlama2cCheckpoint, loadLlama2cTokenizer, type Tokenizer } from "@kvpack/adapters";

/** Real model files and text: $KVPACK_MODELS_DATA or <repo>/../shared/models-data (tools only; packages never read it). */
export function modelsDataDirectory(): string {
  return process.env.KVPACK_MODELS_DATA ?? resolve(dirname(fileURLToPath(import.meta.url)), "../../../../../shared/models-data");
}

export interface EvaluationModel {
  readonly name: string;
  readonly runtime: LlamaRuntime;
  readonly tokenizer: Tokenizer;
  readonly contextLength: number;
}

export const evaluationModels = {
  stories260K: { checkpoint: "stories260K.bin", tokenizer: "tok512.bin" },
  babyllama: { checkpoint: "babyllama-tok105-model5000.bin", tokenizer: "tok105.bin" },
} as const;

export type EvaluationModelName = keyof typeof evaluationModels;

export function loadEvaluationModel(name: EvaluationModelName): EvaluationModel {
  const files = evaluationModels[name];
  const directory = modelsDataDirectory();
  const weights = loadLlama2cCheckpoint(new Uint8Array(readFileSync(join(directory, files.checkpoint))));
  const tokenizer = loadLlama2cTokenizer(new Uint8Array(readFileSync(join(directory, files.tokenizer))), weights.config.vocabSize);
  return { name, runtime: new LlamaRuntime(weights), tokenizer, contextLength: weights.config.maxSequenceLength };
}

/**
 * TinyStories validation stories 1..count (row 0, a partial story, is skipped as in SOURCES.md),
 * each tokenized from BOS and cut to the model's context.
 */
export function tinyStoriesSequences(model: EvaluationModel, first: number, count: number): number[][] {
  const text = readFileSync(join(modelsDataDirectory(), "tinystories-valid-first600.txt"), "utf8");
  const stories = text.split("<|endoftext|>").map((story) => story.trim()).filter((story) => story.length > 0);
  return stories.slice(first, first + count).map((story) => model.tokenizer.encode(story, { bos: true }).slice(0, model.contextLength));
}

/**
 * Long-context stress set: wikitext-2 test text concatenated and cut into `count` windows of the
 * model's full context (out of domain for these TinyStories models).
 */
export function wikitextSequences(model: EvaluationModel, count: number): number[][] {
  const text = readFileSync(join(modelsDataDirectory(), "wikitext-2-raw-test.raw"), "utf8").replace(/\r/g, "");
  const lines = text.split("\n").filter((line) => line.trim().length > 0 && !line.trim().startsWith("="));
  const sequences: number[][] = [];
  let buffer: number[] = [];
  for (const line of lines) {
    if (sequences.length >= count) break;
    buffer.push(...model.tokenizer.encode(line.trim(), { bos: buffer.length === 0 }));
    while (buffer.length >= model.contextLength && sequences.length < count) {
      sequences.push(buffer.slice(0, model.contextLength));
      buffer = [];
    }
  }
  return sequences;
}
