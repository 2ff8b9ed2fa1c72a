import { type LoadBytesOptions, type ModelSource, loadBytes } from "../model/load-bytes.js";
import type { LlamaWeights } from "../model/llama-weights.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import type { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { loadLlama2cCheckpoint } from "./load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "./load-llama2c-tokenizer.js";

export interface LoadedLlamaModel {
  readonly weights: LlamaWeights;
  readonly tokenizer: SentencePieceBpeTokenizer;
  readonly runtime: LlamaRuntime;
}

/** Loads a llama2.c checkpoint and its tokenizer.bin from paths, URLs or bytes, ready to generate. */
export async function loadLlama2cModel(checkpoint: ModelSource, tokenizer: ModelSource, options: LoadBytesOptions = {}): Promise<LoadedLlamaModel> {
  const [checkpointBytes, tokenizerBytes] = await Promise.all([loadBytes(checkpoint, options), loadBytes(tokenizer, { signal: options.signal })]);
  const weights = loadLlama2cCheckpoint(checkpointBytes);
  return { weights, tokenizer: loadLlama2cTokenizer(tokenizerBytes, weights.config.vocabSize), runtime: new LlamaRuntime(weights) };
}
