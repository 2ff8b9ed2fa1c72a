import { ModelArgumentError } from "../model/model-format-error.js";
import { Gpt2Runtime } from "../runtime/gpt2-runtime.js";
import type { LanguageModelRuntime } from "../runtime/language-model-runtime.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import type { ModelFolder } from "./load-model-folder.js";

/**
 * The reference TypeScript runtime for a folder's safetensors weights: LlamaRuntime over the
 * model description, or Gpt2Runtime. An ONNX folder runs through createOnnxDecoder instead.
 */
export function createModelFolderRuntime(folder: ModelFolder): LanguageModelRuntime {
  const { weights } = folder;
  if (weights.kind === "llama") return new LlamaRuntime(weights.description);
  if (weights.kind === "gpt2") return new Gpt2Runtime(weights.weights);
  throw new ModelArgumentError(`createModelFolderRuntime: ${weights.file} is an ONNX decoder; run it with createOnnxDecoder({ ort, model: folder.weights.bytes, externalData: folder.weights.externalData })`);
}
