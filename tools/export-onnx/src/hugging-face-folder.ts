import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { readHuggingFaceLlamaConfig, writeLlamaModelFolder, type LlamaModelDescription, type LlamaWeights, type WriteLlamaModelFolderOptions } from "@kvpack/adapters";
import { encodeModelWithExternalData } from "./external-data.js";
import { buildLlamaDecoderModel, type LlamaDecoderExportOptions } from "./llama-decoder-graph.js";
import { encodeModel } from "./onnx-proto.js";

/**
 * The ONNX variants transformers.js 4.3.1 picks by `dtype`, and the file name it looks for
 * (DEFAULT_DTYPE_SUFFIX_MAPPING in its src/utils/dtypes.js: q8 → `_quantized`, int8 → `_int8`,
 * uint8 → `_uint8`, q4 → `_q4`, fp16 → `_fp16`). q8 and int8 hold the same symmetric INT8 weights.
 */
export const onnxVariants = {
  fp32: { file: "onnx/model.onnx", options: {} },
  fp16: { file: "onnx/model_fp16.onnx", options: { precision: "fp16" } },
  q4: { file: "onnx/model_q4.onnx", options: { weightBits: 4 } },
  q8: { file: "onnx/model_quantized.onnx", options: { weightType: "int8" } },
  int8: { file: "onnx/model_int8.onnx", options: { weightType: "int8" } },
  uint8: { file: "onnx/model_uint8.onnx", options: { weightType: "uint8" } },
} as const satisfies Record<string, { file: string; options: LlamaDecoderExportOptions }>;

export type OnnxVariant = keyof typeof onnxVariants;

export interface HuggingFaceFolderOptions extends WriteLlamaModelFolderOptions {
  /** Which onnx/ decoders to add (default fp32, fp16 and q4). */
  readonly onnx?: readonly OnnxVariant[];
  /** Give the decoders transformers.js' num_logits_to_keep input (default true). */
  readonly numLogitsToKeep?: boolean;
  readonly modelName?: string;
  /**
   * Store each decoder's initializers of 1 KiB or more as ONNX external data, `onnx/model.onnx_data`
   * beside `onnx/model.onnx` (the layout of larger Hugging Face exports), and tell transformers.js so
   * in config.json ("transformers.js_config": { "use_external_data_format": { "model.onnx": 1 } }).
   */
  readonly externalData?: boolean;
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
  const externalFiles: Record<string, number> = {};
  for (const variant of options.onnx ?? ["fp32", "fp16", "q4"]) {
    const { file, options: variantOptions } = onnxVariants[variant];
    const graph = buildLlamaDecoderModel(model, { ...variantOptions, ...(rope === undefined ? {} : { rope }), numLogitsToKeep: options.numLogitsToKeep ?? true, modelName: options.modelName ?? "llama" });
    if (!options.externalData) {
      files.set(file, encodeModel(graph));
      continue;
    }
    const name = path.posix.basename(file);
    const encoded = encodeModelWithExternalData(graph, { location: `${name}_data` });
    files.set(file, encoded.model);
    files.set(`${file}_data`, encoded.data);
    externalFiles[name] = 1;
  }
  if (options.externalData) {
    const transformersJs = { ...(config["transformers.js_config"] as Record<string, unknown> | undefined), use_external_data_format: externalFiles };
    files.set("config.json", new TextEncoder().encode(`${JSON.stringify({ ...config, "transformers.js_config": transformersJs }, null, 2)}\n`));
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
