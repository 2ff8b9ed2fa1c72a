import { type LoadBytesOptions, type ModelSource, loadBytes } from "../model/load-bytes.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import type { GgufTokenizer } from "./gguf-tokenizer.js";
import type { LlamaModelDescription } from "../model/llama-model-description.js";
import type { LlamaWeights } from "../model/llama-weights.js";
import { loadGgufLlama } from "./load-gguf-llama.js";

/**
 * Loads a Llama-family GGUF (llama, qwen2, qwen3, phi3, gemma2) from a path, URL or bytes, with its
 * embedded tokenizer and a runtime over its model description, ready to generate (build its cache
 * from `runtime.cacheShape`, which carries Gemma 2's sliding windows).
 */
export async function loadGgufLlamaModel(
  source: ModelSource,
  options: LoadBytesOptions = {},
): Promise<{ weights: LlamaWeights; description: LlamaModelDescription; tokenizer: GgufTokenizer; runtime: LlamaRuntime }> {
  const { weights, description, tokenizer } = loadGgufLlama(await loadBytes(source, options));
  if (!tokenizer) throw new ModelFormatError("gguf", "unsupported", "GGUF file has no embedded tokenizer (tokenizer.ggml.model); use loadGgufLlama and bring a tokenizer");
  return { weights, description, tokenizer, runtime: new LlamaRuntime(description) };
}
