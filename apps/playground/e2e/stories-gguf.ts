import { loadLlama2cCheckpoint, loadLlama2cTokenizer, writeLlamaGguf } from "@kvpack/adapters";

/** stories260K + tok512 rewritten as a llama.cpp-style F32 GGUF, so the e2e can drop "someone's own GGUF" into the page. */
export function storiesGguf(checkpoint: ArrayBuffer, tokenizerBytes: ArrayBuffer, name: string): Uint8Array {
  const weights = loadLlama2cCheckpoint(checkpoint);
  const tokenizer = loadLlama2cTokenizer(tokenizerBytes, weights.config.vocabSize);
  return writeLlamaGguf(weights, tokenizer, { name });
}
