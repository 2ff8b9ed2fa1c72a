import { ChatTemplate, ChatTemplateError } from "../chat/chat-template.js";
import type { Gpt2Weights } from "../model/gpt2-weights.js";
import { describeLlamaModel, type LlamaArchitecture, type LlamaModelDescription } from "../model/llama-model-description.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { onnxExternalDataLocations, type OnnxExternalDataFile } from "../onnx/onnx-external-data.js";
import { loadSafetensorsGpt2 } from "../safetensors/load-safetensors-gpt2.js";
import { SafetensorsFile } from "../safetensors/safetensors-file.js";
import { SafetensorsShards } from "../safetensors/safetensors-shards.js";
import { readGenerationDefaults, type GenerationDefaults } from "./generation-defaults.js";
import { readHuggingFaceLlamaConfig } from "./hugging-face-llama-config.js";
import { readHuggingFaceLlamaWeights } from "./hugging-face-llama-weights.js";
import { HuggingFaceTokenizer } from "./hugging-face-tokenizer.js";
import { openModelFolder, type ModelFolderReader, type ModelFolderSource } from "./model-folder-source.js";

type Json = Readonly<Record<string, unknown>>;

export interface LoadModelFolderOptions {
  /** Which weights to load: "safetensors" (model.safetensors or its shards) or "onnx" (an onnx/ decoder). Default: safetensors when the folder has them, else onnx. */
  readonly format?: "safetensors" | "onnx";
  /** The ONNX decoder inside the folder (transformers.js names: onnx/model.onnx, model_fp16.onnx, model_q4.onnx, model_quantized.onnx, model_int8.onnx, model_uint8.onnx). Default: the first of these the folder has. */
  readonly onnxFile?: string;
}

/**
 * The weights a folder held: a Llama-family description, GPT-2 weights, or an ONNX decoder's bytes
 * and the external data files it names (onnx/model.onnx_data …; empty when the weights are inline),
 * for createOnnxDecoder({ ort, model: bytes, externalData }).
 */
export type ModelFolderWeights =
  | { readonly kind: "llama"; readonly description: LlamaModelDescription }
  | { readonly kind: "gpt2"; readonly weights: Gpt2Weights }
  | { readonly kind: "onnx"; readonly file: string; readonly bytes: Uint8Array; readonly externalData: readonly OnnxExternalDataFile[] };

/** A Hugging Face model folder, loaded. */
export interface ModelFolder {
  /** config.json as parsed. */
  readonly config: Json;
  readonly architecture: LlamaArchitecture | "gpt2";
  readonly weights: ModelFolderWeights;
  readonly tokenizer: HuggingFaceTokenizer;
  /** tokenizer_config.json `chat_template` (or chat_template.jinja); undefined when the model has none. */
  readonly chatTemplate: ChatTemplate | undefined;
  readonly generation: GenerationDefaults;
}

const onnxFiles = ["onnx/model.onnx", "onnx/model_fp16.onnx", "onnx/model_q4.onnx", "onnx/model_quantized.onnx", "onnx/model_int8.onnx", "onnx/model_uint8.onnx"];

function inFile<T>(file: string, load: () => T): T {
  try {
    return load();
  } catch (error) {
    // Messages that already name their file (config.json: …) keep it.
    if (ModelFormatError.isInstance(error) && !/^[\w./-]+\.(json|safetensors|onnx|jinja)\b/.test(error.message)) throw new ModelFormatError(error.format, error.code, `${file}: ${error.message}`);
    throw error;
  }
}

async function required(folder: ModelFolderReader, path: string, why: string): Promise<Uint8Array> {
  const bytes = await folder.read(path);
  if (bytes === undefined) throw new ModelFormatError("model-folder", "missing-tensor", `model folder ${folder.name} has no ${path} (${why})`);
  return bytes;
}

async function json(folder: ModelFolderReader, path: string, bytes?: Uint8Array): Promise<Json | undefined> {
  const data = bytes ?? (await folder.read(path));
  if (data === undefined) return undefined;
  try {
    const value = JSON.parse(new TextDecoder().decode(data)) as unknown;
    if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error("not a JSON object");
    return value as Json;
  } catch (error) {
    throw new ModelFormatError("model-folder", "bad-metadata", `${path} in ${folder.name} is not a JSON object: ${(error as Error).message}`);
  }
}

/** model.safetensors, or the shards model.safetensors.index.json lists; undefined when the folder has neither. */
async function safetensorsFiles(folder: ModelFolderReader): Promise<{ name: string; file: SafetensorsFile }[] | undefined> {
  const single = await folder.read("model.safetensors");
  if (single !== undefined) return [{ name: "model.safetensors", file: inFile("model.safetensors", () => new SafetensorsFile(single)) }];
  const index = await json(folder, "model.safetensors.index.json");
  if (index === undefined) return undefined;
  const weightMap = index.weight_map as Json | undefined;
  if (typeof weightMap !== "object" || weightMap === null) throw new ModelFormatError("model-folder", "bad-metadata", "model.safetensors.index.json: weight_map must map tensor names to shard files");
  const names = [...new Set(Object.values(weightMap))];
  const files = [];
  for (const name of names) {
    if (typeof name !== "string") throw new ModelFormatError("model-folder", "bad-metadata", `model.safetensors.index.json: weight_map holds ${JSON.stringify(name)}, not a file name`);
    const bytes = await required(folder, name, "listed in model.safetensors.index.json weight_map");
    files.push({ name, file: inFile(name, () => new SafetensorsFile(bytes)) });
  }
  return files;
}

/** The external data files `file` names, read from beside it; a missing one is a ModelFormatError naming it. */
async function externalDataFiles(folder: ModelFolderReader, file: string, bytes: Uint8Array): Promise<OnnxExternalDataFile[]> {
  const directory = file.includes("/") ? file.slice(0, file.lastIndexOf("/") + 1) : "";
  let locations: string[];
  try {
    locations = onnxExternalDataLocations(bytes);
  } catch (error) {
    // Bytes that are not protobuf are left for ONNX Runtime to reject (createOnnxDecoder's invalid-model), as before.
    if (ModelFormatError.isInstance(error)) return [];
    throw error;
  }
  const files: OnnxExternalDataFile[] = [];
  for (const location of locations) {
    // ONNX Runtime refuses locations outside the model's directory; so does the folder reader.
    if (location.startsWith("/") || location.split(/[\\/]/).includes("..") || /^[a-z]+:/i.test(location)) {
      throw new ModelFormatError("onnx", "bad-metadata", `${file}: external data location ${JSON.stringify(location)} is outside the model's directory`);
    }
    const data = await required(folder, directory + location, `${file} keeps its weights there as ONNX external data`);
    files.push({ path: location, data });
  }
  return files;
}

/** Tensor errors name the shard that holds the tensor (or the checkpoint when it is missing everywhere). */
function shardsWithFileNames(files: { name: string; file: SafetensorsFile }[]): SafetensorsShards {
  const shards = new SafetensorsShards(files.map(({ file }) => file));
  const float32 = shards.float32.bind(shards);
  const where = (tensor: string): string => files.find(({ file }) => file.has(tensor))?.name ?? files.map(({ name }) => name).join(" + ");
  shards.float32 = (tensor, shape) => inFile(where(tensor), () => float32(tensor, shape));
  return shards;
}

async function chatTemplate(folder: ModelFolderReader, tokenizerConfig: Json): Promise<ChatTemplate | undefined> {
  let source = tokenizerConfig.chat_template;
  let file = "tokenizer_config.json";
  if (Array.isArray(source)) source = (source as Json[]).find((entry) => entry.name === "default")?.template;
  if (source === undefined || source === null) {
    const jinja = await folder.read("chat_template.jinja");
    if (jinja === undefined) return undefined;
    source = new TextDecoder().decode(jinja);
    file = "chat_template.jinja";
  }
  if (typeof source !== "string") throw new ModelFormatError("model-folder", "bad-metadata", `${file}: chat_template must be a string, got ${typeof source}`);
  try {
    return new ChatTemplate(source);
  } catch (error) {
    if (error instanceof ChatTemplateError) throw new ModelFormatError("model-folder", "bad-metadata", `${file}: chat_template: ${error.message}`);
    throw error;
  }
}

/**
 * Loads a Hugging Face model folder: config.json (architecture llama incl. rope_scaling llama3 /
 * linear, qwen2, qwen3, phi3, gemma2, or gpt2), generation_config.json, tokenizer.json with
 * tokenizer_config.json's chat template, and the weights — model.safetensors (or shards; F32, F16,
 * BF16) or a transformers.js onnx/ decoder. Anything missing, unsupported or inconsistent (a tensor
 * shape against config.json, a tokenizer larger than vocab_size) is a ModelFormatError naming the
 * file and field.
 */
export async function loadModelFolder(source: ModelFolderSource, options: LoadModelFolderOptions = {}): Promise<ModelFolder> {
  const folder = openModelFolder(source);
  const config = (await json(folder, "config.json", await required(folder, "config.json", "the model's configuration"))) as Json;
  const isGpt2 = config.model_type === "gpt2";
  const llamaConfig = isGpt2 ? undefined : readHuggingFaceLlamaConfig(config);
  const architecture = llamaConfig?.architecture ?? "gpt2";
  const vocabSize = config.vocab_size;

  const generation = readGenerationDefaults(await json(folder, "generation_config.json"), config);
  const tokenizerJson = (await json(folder, "tokenizer.json", await required(folder, "tokenizer.json", "the tokenizer; kvpack reads the 🤗 tokenizers format"))) as Json;
  const tokenizerConfig = (await json(folder, "tokenizer_config.json")) ?? {};
  const tokenizer = inFile("tokenizer.json", () => new HuggingFaceTokenizer(tokenizerJson, tokenizerConfig, generation));
  if (typeof vocabSize === "number" && tokenizer.vocabSize > vocabSize) {
    throw new ModelFormatError("tokenizer-json", "bad-metadata", `tokenizer.json has ${tokenizer.vocabSize} token ids but config.json vocab_size is ${vocabSize}: the tokenizer belongs to another model`);
  }

  const files = options.format === "onnx" ? undefined : await safetensorsFiles(folder);
  let weights: ModelFolderWeights;
  if (files !== undefined) {
    const shards = shardsWithFileNames(files);
    if (isGpt2) weights = { kind: "gpt2", weights: inFile(files.map(({ name }) => name).join(" + "), () => loadSafetensorsGpt2(files.map(({ file }) => file), config)) };
    else {
      const described = llamaConfig!;
      weights = { kind: "llama", description: describeLlamaModel(readHuggingFaceLlamaWeights(shards, described), described) };
    }
  } else if (options.format === "safetensors") {
    throw new ModelFormatError("model-folder", "missing-tensor", `model folder ${folder.name} has no model.safetensors or model.safetensors.index.json`);
  } else {
    const candidates = options.onnxFile !== undefined ? [options.onnxFile] : onnxFiles;
    let found: { file: string; bytes: Uint8Array } | undefined;
    for (const file of candidates) {
      const bytes = await folder.read(file);
      if (bytes !== undefined) {
        found = { file, bytes };
        break;
      }
    }
    if (found === undefined) throw new ModelFormatError("model-folder", "missing-tensor", `model folder ${folder.name} has no weights: none of model.safetensors, model.safetensors.index.json, ${candidates.join(", ")}`);
    weights = { kind: "onnx", ...found, externalData: await externalDataFiles(folder, found.file, found.bytes) };
  }
  return { config, architecture, weights, tokenizer, chatTemplate: await chatTemplate(folder, tokenizerConfig), generation };
}
