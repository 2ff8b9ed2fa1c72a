import type { LlamaModelDescription } from "../model/llama-model-description.js";
import type { LlamaWeights } from "../model/llama-weights.js";
import type { SafetensorsFloatType } from "../safetensors/safetensors-file.js";
import { writeSafetensorsLlama } from "../safetensors/write-safetensors-llama.js";
import { writeHuggingFaceCheckpoint } from "./write-hugging-face-checkpoint.js";

type Json = Record<string, unknown>;

export interface WriteLlamaModelFolderOptions {
  /** tokenizer.json contents (e.g. from sentencePieceTokenizerJson). */
  readonly tokenizerJson: Json;
  /** tokenizer_config.json contents (chat_template, bos_token, eos_token …); default names <s> and </s>. */
  readonly tokenizerConfig?: Json;
  /** generation_config.json contents; default BOS 1, EOS 2. */
  readonly generationConfig?: Json;
  /** Extra config.json fields (rope_scaling, architectures …), written over the derived ones. */
  readonly config?: Json;
  readonly dtype?: SafetensorsFloatType;
}

const encoder = new TextEncoder();

function jsonFile(value: unknown): Uint8Array {
  return encoder.encode(`${JSON.stringify(value, null, 2)}\n`);
}

/**
 * Writes Llama weights (or a model description of any of its architectures) as a Hugging Face
 * model folder (file path → bytes): config.json, generation_config.json, tokenizer.json,
 * tokenizer_config.json and model.safetensors, the layout transformers and loadModelFolder read.
 * Add an onnx/ decoder with @kvpack/export-onnx.
 */
export function writeLlamaModelFolder(model: LlamaWeights | LlamaModelDescription, options: WriteLlamaModelFolderOptions): Map<string, Uint8Array> {
  const dtypeOption = options.dtype === undefined ? {} : { dtype: options.dtype };
  const checkpoint = "weights" in model ? writeHuggingFaceCheckpoint(model, dtypeOption) : writeSafetensorsLlama(model, dtypeOption);
  const weights = "weights" in model ? model.weights : model;
  const config = {
    architectures: ["LlamaForCausalLM"],
    head_dim: weights.config.headDim,
    hidden_act: "silu",
    ...checkpoint.config,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: options.dtype === "F16" ? "float16" : options.dtype === "BF16" ? "bfloat16" : "float32",
    ...options.config,
  };
  return new Map([
    ["config.json", jsonFile(config)],
    ["generation_config.json", jsonFile(options.generationConfig ?? { bos_token_id: 1, eos_token_id: 2 })],
    ["tokenizer.json", jsonFile(options.tokenizerJson)],
    ["tokenizer_config.json", jsonFile(options.tokenizerConfig ?? { bos_token: "<s>", eos_token: "</s>", unk_token: "<unk>", add_bos_token: true, add_eos_token: false, tokenizer_class: "LlamaTokenizer" })],
    ["model.safetensors", checkpoint.file],
  ]);
}
