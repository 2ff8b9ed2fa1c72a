import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { readHuggingFaceLlamaConfig, writeLlamaModelFolder, type LlamaModelDescription, type LlamaWeights, type WriteLlamaModelFolderOptions } from "@kvpack/adapters";
import { exportLlamaDecoderOnnx } from "./llama-decoder-graph.js";

/** The ONNX variants transformers.js picks by `dtype`, and the file name it looks for. */
export const onnxVariants = {
  fp32: { file: "onnx/model.onnx", options: {} },
  fp16: { file: "onnx/model_fp16.onnx", options: { precision: "fp16" } },
  q4: { file: "onnx/model_q4.onnx", options: { weightBits: 4 } },
  q8: { file: "onnx/model_quantized.onnx", options: { weightBits: 8 } },
} as const;

export type OnnxVariant = keyof typeof onnxVariants;

export interface HuggingFaceFolderOptions extends WriteLlamaModelFolderOptions {
  /** Which onnx/ decoders to add (default fp32, fp16 and q4). */
  readonly onnx?: readonly OnnxVariant[];
  /** Give the decoders transformers.js' num_logits_to_keep input (default true). */
  readonly numLogitsToKeep?: boolean;
  readonly modelName?: string;
}

/**
 * A Llama checkpoint (or a description of any Llama-family architecture: qwen2, qwen3, phi3,
 * gemma2) as a Hugging Face folder that transformers (safetensors) and transformers.js (onnx/)
 * both load: writeLlamaModelFolder's files plus decoder-with-past ONNX models in the variants
 * asked for, rotating as config.json's rope_scaling says.
 */
export function huggingFaceFolderFiles(model: LlamaWeights | LlamaModelDescription, options: HuggingFaceFolderOptions): Map<string, Uint8Array> {
  const files = writeLlamaModelFolder(model, options);
  const config = JSON.parse(new TextDecoder().decode(files.get("config.json"))) as Record<string, unknown>;
  // Bare weights take the rotation config.json declares (options.config may add rope_scaling); a description has its own.
  const rope = "weights" in model ? undefined : readHuggingFaceLlamaConfig(config).rope;
  for (const variant of options.onnx ?? ["fp32", "fp16", "q4"]) {
    const { file, options: variantOptions } = onnxVariants[variant];
    files.set(file, exportLlamaDecoderOnnx(model, { ...variantOptions, ...(rope === undefined ? {} : { rope }), numLogitsToKeep: options.numLogitsToKeep ?? true, modelName: options.modelName ?? "llama" }));
  }
  return files;
}

/** Writes huggingFaceFolderFiles under `directory` (created); returns the paths written. */
export async function writeHuggingFaceFolder(directory: string, files: ReadonlyMap<string, Uint8Array>): Promise<string[]> {
  const written: string[] = [];
  for (const [name, bytes] of files) {
    const target = path.join(directory, name);
    await mkdir(path.dirname(target), { recursive: true });
    await writeFile(target, bytes);
    written.push(target);
  }
  return written;
}
