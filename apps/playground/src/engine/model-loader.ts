import {
  loadGgufLlama,
  loadLlama2cCheckpoint,
  loadLlama2cTokenizer,
  loadModelFolder,
  type LlamaModelDescription,
  type LlamaWeights,
  type ModelFolder,
  type Tokenizer,
} from "@kvpack/adapters";
import { PlaygroundError } from "./plain-error.js";

export interface NamedBytes {
  readonly name: string;
  readonly bytes: ArrayBuffer;
}

export interface LoadedModel {
  readonly name: string;
  readonly format: "llama2c" | "gguf" | "hf-folder";
  readonly weights: LlamaWeights;
  /** The architecture's description (RoPE style, per-layer sliding windows, soft caps): GGUF files and model folders have one. */
  readonly description?: LlamaModelDescription;
  readonly tokenizer: Tokenizer;
  /** Whether prompts start with BOS (the tokenizer's own add_bos_token where it has one). */
  readonly addBos: boolean;
}

export type ModelFileKind = "gguf" | "onnx" | "llama2c-tokenizer" | "llama2c-checkpoint";

const ggufMagic = 0x46554747; // "GGUF" read as a little-endian uint32

/** Guesses what a dropped file is from its first bytes and its name. */
export function classifyModelFile(file: NamedBytes): ModelFileKind {
  const name = file.name.toLowerCase();
  if (file.bytes.byteLength >= 4 && new DataView(file.bytes).getUint32(0, true) === ggufMagic) return "gguf";
  if (name.endsWith(".gguf")) return "gguf";
  if (name.endsWith(".onnx")) return "onnx";
  // llama2.c tokenizers start with a small max_token_length; checkpoints with dim (usually ≥ 64),
  // so the name decides first and the size settles the rest (a tokenizer is far smaller than a model).
  if (/tok|vocab/.test(name)) return "llama2c-tokenizer";
  return "llama2c-checkpoint";
}

/** Sum of the weight elements (for the model badge). */
export function parameterCount(weights: LlamaWeights): number {
  let count = weights.tokenEmbedding.length + weights.finalNorm.length;
  if (weights.classifier !== weights.tokenEmbedding) count += weights.classifier.length;
  for (const layer of weights.layers) {
    for (const tensor of Object.values(layer) as Float32Array[]) count += tensor.length;
  }
  return count;
}

/**
 * Loads a llama2.c checkpoint with its tokenizer. When no tokenizer file was given, `fallbackTokenizer`
 * (the bundled tok512) is used if the vocabulary sizes agree.
 */
export function loadLlama2c(checkpoint: NamedBytes, tokenizerFile: NamedBytes | undefined, fallbackTokenizer?: NamedBytes): LoadedModel {
  const weights = loadLlama2cCheckpoint(checkpoint.bytes);
  const vocabSize = weights.config.vocabSize;
  const source = tokenizerFile ?? (fallbackTokenizer && vocabSize === 512 ? fallbackTokenizer : undefined);
  if (!source) {
    throw new PlaygroundError(
      `The model has a ${vocabSize}-token vocabulary, but no tokenizer file came with it. Drop the model together with its llama2.c tokenizer .bin (for example tokenizer.bin for 32000 tokens).`,
    );
  }
  const tokenizer = loadLlama2cTokenizer(source.bytes, vocabSize);
  return { name: checkpoint.name.replace(/\.bin$/i, ""), format: "llama2c", weights, tokenizer, addBos: true };
}

/**
 * Loads a GGUF of any architecture loadGgufLlama reads (llama, qwen2, qwen3, phi3, gemma2; tensor
 * types dequantized) as its model description, with its embedded tokenizer: "llama" SentencePiece
 * or "gpt2" byte-level BPE (ggufTokenizer), stop tokens from its EOS / EOT ids, BOS as the file says.
 */
export function loadGguf(file: NamedBytes): LoadedModel {
  const { weights, description, tokenizer, file: gguf } = loadGgufLlama(file.bytes);
  if (!tokenizer) {
    throw new PlaygroundError("This GGUF file has no tokenizer inside (no tokenizer.ggml.model), so the playground cannot turn text into tokens for it.");
  }
  const name = gguf.metadata.get("general.name");
  return { name: typeof name === "string" && name ? name : file.name.replace(/\.gguf$/i, ""), format: "gguf", weights, description, tokenizer, addBos: tokenizer.addBos };
}

/** The folder a dropped directory's files came from: the first part of their relative paths, when they all share one. */
export function folderName(paths: readonly string[]): string {
  const first = paths[0]?.split("/")[0];
  return first !== undefined && paths.every((path) => path.startsWith(`${first}/`)) ? first : "model folder";
}

/** A loaded folder: Llama-family safetensors for the kernel runtime, or an ONNX decoder's bytes for ONNX Runtime. */
export type LoadedFolder =
  | { readonly kind: "llama"; readonly model: LoadedModel }
  | { readonly kind: "onnx"; readonly name: string; readonly folder: ModelFolder; readonly bytes: Uint8Array };

/**
 * Loads a Hugging Face model folder (config.json, tokenizer.json, tokenizer_config.json,
 * generation_config.json, model.safetensors or its shards, else an onnx/ decoder) from its files
 * keyed by their path inside the dropped folder, with loadModelFolder: any Llama-family
 * architecture it reads, the folder's own tokenizer and stop tokens.
 */
export async function loadFolder(files: readonly { readonly path: string; readonly bytes: ArrayBuffer }[]): Promise<LoadedFolder> {
  const name = folderName(files.map((file) => file.path));
  const folder = await loadModelFolder(new Map(files.map((file) => [file.path, file.bytes])));
  const { weights } = folder;
  if (weights.kind === "onnx") return { kind: "onnx", name, folder, bytes: weights.bytes };
  if (weights.kind !== "llama") {
    throw new PlaygroundError(`The folder ${name} holds a ${folder.architecture} model; the playground runs Llama-family folders (llama, qwen2, qwen3, phi3, gemma2) as safetensors or an onnx/ decoder.`);
  }
  const { description } = weights;
  return { kind: "llama", model: { name, format: "hf-folder", weights: description.weights, description, tokenizer: folder.tokenizer, addBos: folder.tokenizer.addBos } };
}
