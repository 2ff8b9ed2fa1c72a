/**
 * Runs a real model over real text (TinyStories validation stories and a wikitext-2 window) and
 * captures, per layer, head and position, the post-RoPE keys and values the cache stored and the
 * post-RoPE queries that attended over them. Writes a KVPK file (see kv-capture-format.ts).
 *
 * Usage: pnpm --filter @kvpack/bench capture:kv -- --model stories260K [--out <path>] [--stories 4] [--wikitext 1]
 * Default output: <repo>/.kvpack-cache/kv-capture-<model>.kvpk (gitignored).
 */
import { resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { createDenseCache, type LayerActivations } from "@kvpack/adapters";
import { capturedArrayLengths, capturedOffset, writeKvCapture, type CapturedSequence, type KvCapture, type KvCaptureShape } from "./kv-capture-format.js";
import { loadEvaluationModel, tinyStoriesSequences, wikitextSequences, type EvaluationModel, type EvaluationModelName } from "./models-data.js";

export interface TextSequence {
  readonly source: string;
  readonly tokens: readonly number[];
}

export function captureShape(model: EvaluationModel): KvCaptureShape {
  const { layers, kvHeads, headDim } = model.runtime.cacheShape;
  return { layers, heads: model.runtime.heads, kvHeads, headDim };
}

/** Runs `model` over each sequence from position 0 on a fresh dense cache and records q, k, v of every layer. */
export function captureKv(model: EvaluationModel, sequences: readonly TextSequence[]): KvCapture {
  const { runtime } = model;
  const shape = captureShape(model);
  const { heads, kvHeads, headDim } = shape;
  const captured: CapturedSequence[] = [];
  const previousObserver = runtime.observer;
  try {
    for (const sequence of sequences) {
      const length = sequence.tokens.length;
      const sizes = capturedArrayLengths(shape, length);
      const keys = new Float32Array(sizes.keys);
      const values = new Float32Array(sizes.keys);
      const queries = new Float32Array(sizes.queries);
      runtime.observer = {
        onLayer(activations: LayerActivations) {
          const { layer, position } = activations;
          // The runtime reuses its buffers: copy each head's slice out now.
          for (let head = 0; head < kvHeads; head++) {
            const at = capturedOffset(kvHeads, headDim, length, layer, head, position);
            keys.set(activations.keys.subarray(head * headDim, (head + 1) * headDim), at);
            values.set(activations.values.subarray(head * headDim, (head + 1) * headDim), at);
          }
          for (let head = 0; head < heads; head++) {
            queries.set(activations.queries.subarray(head * headDim, (head + 1) * headDim), capturedOffset(heads, headDim, length, layer, head, position));
          }
        },
      };
      const cache = createDenseCache(runtime, length);
      for (let position = 0; position < length; position++) runtime.forward(sequence.tokens[position], position, cache);
      captured.push({ source: sequence.source, tokens: [...sequence.tokens], keys, values, queries });
    }
  } finally {
    runtime.observer = previousObserver;
  }
  return { model: model.name, shape, config: { ...model.runtime.config }, sequences: captured };
}

/** The default text: `stories` TinyStories validation stories (from story 1) and `wikitext` full-context wikitext-2 windows. */
export function defaultCaptureText(model: EvaluationModel, stories: number, wikitext: number): TextSequence[] {
  return [
    ...tinyStoriesSequences(model, 1, stories).map((tokens, index) => ({ source: `tinystories:${index + 1}`, tokens })),
    ...wikitextSequences(model, wikitext).map((tokens, index) => ({ source: `wikitext:${index}`, tokens })),
  ];
}

export function defaultCapturePath(modelName: string): string {
  return resolve(fileURLToPath(import.meta.url), "../../../../../.kvpack-cache", `kv-capture-${modelName}.kvpk`);
}

function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 && process.argv[index + 1] !== undefined ? process.argv[index + 1] : fallback;
}

function main(): void {
  const modelName = argument("model", "stories260K") as EvaluationModelName;
  const out = resolve(argument("out", defaultCapturePath(modelName)));
  const model = loadEvaluationModel(modelName);
  const text = defaultCaptureText(model, Number(argument("stories", "4")), Number(argument("wikitext", "1")));
  const started = performance.now();
  const capture = captureKv(model, text);
  writeKvCapture(out, capture);
  const tokens = capture.sequences.reduce((sum, sequence) => sum + sequence.tokens.length, 0);
  const { layers, heads, kvHeads, headDim } = capture.shape;
  process.stdout.write(
    `captured ${modelName}: ${capture.sequences.length} sequences (${capture.sequences.map((sequence) => `${sequence.source} ${sequence.tokens.length}`).join(", ")}), ${tokens} tokens, ` +
      `${layers} layers × ${kvHeads} KV heads (${heads} query heads) × head_dim ${headDim}, ${((performance.now() - started) / 1000).toFixed(1)} s\nwrote ${out}\n`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) main();
