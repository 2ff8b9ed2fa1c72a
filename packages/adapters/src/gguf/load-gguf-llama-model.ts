import { type LoadBytesOptions, type ModelSource, loadBytes } from "../model/load-bytes.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import type { GgufTokenizer } from "./gguf-tokenizer.js";
import type { LlamaWeights } from "../model/llama-weights.js";
import { loadGgufLlama } from "./load-gguf-llama.js";

/** Loads a Llama GGUF from a path, URL or bytes, with its embedded tokenizer and a runtime, ready to generate. */
export async function loadGgufLlamaModel(
  source: ModelSource,
  options: LoadBytesOptions = {},
): Promise<{ weights: LlamaWeights; tokenizer: GgufTokenizer; runtime: LlamaRuntime }> {
  const { weights, tokenizer } = loadGgufLlama(await loadBytes(source, options));
  if (!tokenizer) throw new ModelFormatError("gguf", "unsupported", "GGUF file has no embedded tokenizer (tokenizer.ggml.model); use loadGgufLlama and bring a tokenizer");
  return { weights, tokenizer, runtime: new LlamaRuntime(weights) };
}
