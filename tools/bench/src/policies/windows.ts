// The token windows the benchmark reads: TinyStories windows and the KVTuner calibration capture.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DenseKVCache } from "@kvpack/cache";
import type { KvTunerLayerSample } from "@kvpack/policies";
import { type EvaluationModel, modelsDataDirectory } from "../eval/models-data.js";

/** TinyStories stories from `first` on, each from BOS, concatenated into windows of the model's context. */
export function tinyStoriesWindows(model: EvaluationModel, first: number, count: number, length = model.contextLength): number[][] {
  const text = readFileSync(join(modelsDataDirectory(), "tinystories-valid-first600.txt"), "utf8");
  const stories = text
    .split("<|endoftext|>")
    .map((story) => story.trim())
    .filter((story) => story.length > 0);
  const windows: number[][] = [];
  let buffer: number[] = [];
  for (let index = first; index < stories.length && windows.length < count; index++) {
    buffer.push(...model.tokenizer.encode(stories[index], { bos: true }));
    if (buffer.length >= length) {
      windows.push(buffer.slice(0, length));
      buffer = [];
      lastStoryUsed.set(`${model.name} ${first}`, index);
    }
  }
  return windows;
}

/** Last TinyStories story read per model × first story, recorded in the JSON to show the sets are disjoint. */
export const lastStoryUsed = new Map<string, number>();

/** Dense run over calibration tokens capturing every layer's queries, keys and values (post-RoPE). */
export function captureCalibration(model: EvaluationModel, tokens: number[]): KvTunerLayerSample[] {
  const { runtime } = model;
  const { layers, kvHeads, headDim } = runtime.cacheShape;
  const count = tokens.length;
  const samples = Array.from({ length: layers }, () => ({
    keys: new Float32Array(count * kvHeads * headDim),
    values: new Float32Array(count * kvHeads * headDim),
    queries: new Float32Array(count * runtime.heads * headDim),
    tokens: count,
  }));
  runtime.observer = {
    onLayer: (activations) => {
      const sample = samples[activations.layer];
      sample.keys.set(activations.keys, activations.position * kvHeads * headDim);
      sample.values.set(activations.values, activations.position * kvHeads * headDim);
      sample.queries.set(activations.queries, activations.position * runtime.heads * headDim);
    },
  };
  const cache = new DenseKVCache({ ...runtime.cacheShape, capacity: count });
  try {
    for (let i = 0; i < count; i++) runtime.forward(tokens[i], i, cache);
  } finally {
    runtime.observer = undefined;
  }
  return samples;
}
