import { createHash, type Hash } from "node:crypto";
import { createReadStream, existsSync, statSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  Gpt2Runtime,
  LlamaRuntime,
  createOnnxDecoder,
  loadGgufLlama,
  loadGpt2Tokenizer,
  loadLlama2cCheckpoint,
  loadLlama2cTokenizer,
  loadOnnxRuntimeNode,
  loadSafetensorsGpt2,
  loadSafetensorsLlama,
} from "@kvpack/adapters";
import type { Tokenizer } from "@kvpack/adapters";
import { type FileByteSource, fileByteSource } from "@kvpack/adapters/node";
import type { KVCache, KVCacheShape } from "@kvpack/cache";
import type { ServerConfig } from "../config/server-config.js";
import { type ChatPromptFormat, plainJoinFormat } from "./chat-prompt-format.js";
import { ggufChatFormat } from "./gguf-chat-format.js";
import { loadHuggingFaceFolderModel } from "./hugging-face-folder-model.js";
import { ModelLoadError } from "./model-load-error.js";
import { inProcessRuntime, type ServedRuntime } from "./served-runtime.js";
import { wasmLlamaRuntime } from "./wasm-llama-runtime.js";

/** A loaded model as the server uses it. */
export interface ServedModel {
  /** Name in /v1/models and in requests. */
  readonly id: string;
  readonly format: "llama2c" | "gguf" | "safetensors" | "onnx" | "hf-folder";
  readonly architecture: string;
  readonly vocabSize: number;
  /** The KV cache shape the model appends: layers, kvHeads, headDim. */
  readonly cacheShape: KVCacheShape;
  /**
   * Runs one token at `position` (absolute, also after evictions), appends its keys and values to
   * `cache`, returns the logits (reused buffer for in-process runtimes; ONNX Runtime is async).
   */
  forward(token: number, position: number, cache: KVCache): Float32Array | Promise<Float32Array>;
  /**
   * Runs prompt tokens from `startPosition` on into `cache` in one batch (matrix–matrix through each
   * layer) where the runtime has one; returns the last token's logits, or undefined when `signal` was
   * aborted before the batch started. Absent: `forward` per token.
   */
  prefill?(tokens: readonly number[], startPosition: number, cache: KVCache, signal?: AbortSignal): Float32Array | undefined | Promise<Float32Array | undefined>;
  readonly tokenizer: Tokenizer;
  /** Whether prompts start with BOS: the GGUF tokenizer's add_bos_token (llama.cpp's default), true for the other formats. */
  readonly addBos: boolean;
  /** How chat messages become the prompt: the model's own chat template, or the plain join for models without one. */
  readonly chatFormat: ChatPromptFormat;
  readonly contextLength: number;
  /** Hash of the weights (and tokenizer): part of every prefix key, so models never share pages. */
  readonly fingerprint: string;
  readonly createdSeconds: number;
}

export { ModelLoadError } from "./model-load-error.js";

const defaultModelFile = "stories260K.bin";
const defaultTokenizerFile = "tok512.bin";

/**
 * Where the embedded default model lives: next to the built main.js (the build copies it there),
 * else $KVPACK_MODELS_DATA or <repo>/../shared/models-data (running from source, in tests).
 */
export function defaultModelDirectory(): string {
  const candidates = [
    fileURLToPath(new URL("./models/", import.meta.url)),
    fileURLToPath(new URL("../dist/models/", import.meta.url)),
    fileURLToPath(new URL("../../dist/models/", import.meta.url)),
    process.env.KVPACK_MODELS_DATA,
    fileURLToPath(new URL("../../../../../shared/models-data/", import.meta.url)),
    fileURLToPath(new URL("../../../../shared/models-data/", import.meta.url)),
  ].filter((candidate): candidate is string => candidate !== undefined);
  for (const candidate of candidates) {
    if (existsSync(path.join(candidate, defaultModelFile)) && existsSync(path.join(candidate, defaultTokenizerFile))) return candidate;
  }
  throw new ModelLoadError(
    `the embedded default model (${defaultModelFile} + ${defaultTokenizerFile}) was not found in ${candidates.join(", ")}; run the build or pass --model`,
  );
}

function detectFormat(file: string, declared: ServerConfig["model"]["format"]): ServedModel["format"] {
  // A directory is a Hugging Face model folder (config.json, tokenizer.json, safetensors or onnx/).
  if (existsSync(file) && statSync(file).isDirectory()) return "hf-folder";
  if (declared !== "auto") return declared;
  const extension = path.extname(file).toLowerCase();
  if (extension === ".gguf") return "gguf";
  if (extension === ".safetensors") return "safetensors";
  if (extension === ".onnx") return "onnx";
  return "llama2c";
}

async function readBytes(file: string, what: string): Promise<Uint8Array> {
  try {
    const bytes = await readFile(file);
    // A view of the read buffer (new Uint8Array(buffer) would copy the whole file once more).
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    throw new ModelLoadError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

function fingerprintOf(...parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return fingerprintOfHash(hash);
}

/** The first 16 hex digits of a SHA-256 (consumes it: pass a copy to go on feeding it). */
function fingerprintOfHash(hash: Hash): string {
  return hash.digest("hex").slice(0, 16);
}

/** A SHA-256 fed with the file's bytes streamed from disk (the same digest as of its bytes in memory). */
async function fileSha256(file: string): Promise<Hash> {
  const hash = createHash("sha256");
  try {
    for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  } catch (error) {
    throw new ModelLoadError(`cannot read model ${file}: ${(error as Error).message}`);
  }
  return hash;
}

function openByteSource(file: string): FileByteSource {
  try {
    return fileByteSource(file);
  } catch (error) {
    throw new ModelLoadError(`cannot read model ${file}: ${(error as Error).message}`);
  }
}

function fromRuntime(
  base: Pick<ServedModel, "id" | "format" | "fingerprint" | "createdSeconds">,
  runtime: ServedRuntime,
  tokenizer: Tokenizer,
  contextLength: number | undefined,
  prompting: Pick<ServedModel, "addBos" | "chatFormat"> = { addBos: true, chatFormat: plainJoinFormat },
): ServedModel {
  if (tokenizer.vocabSize > runtime.vocabSize) {
    throw new ModelLoadError(`the tokenizer has ${tokenizer.vocabSize} tokens but the model only ${runtime.vocabSize}`);
  }
  return {
    ...base,
    architecture: runtime.architecture,
    vocabSize: runtime.vocabSize,
    cacheShape: runtime.cacheShape,
    forward: (token, position, cache) => runtime.forward(token, position, cache),
    ...(runtime.prefill ? { prefill: runtime.prefill } : {}),
    tokenizer,
    ...prompting,
    contextLength: contextLength ?? runtime.maxSequenceLength,
  };
}

async function readSibling(modelPath: string, name: string): Promise<Uint8Array | undefined> {
  const file = path.join(path.dirname(modelPath), name);
  return existsSync(file) ? readBytes(file, name) : undefined;
}

async function llama2cTokenizerFor(tokenizerPath: string | undefined, modelPath: string, vocabSize: number): Promise<{ tokenizer: Tokenizer; bytes: Uint8Array }> {
  let file = tokenizerPath;
  if (file === undefined) {
    const sibling = path.join(path.dirname(modelPath), "tokenizer.bin");
    if (!existsSync(sibling)) throw new ModelLoadError(`model ${modelPath} needs a tokenizer: pass --tokenizer <llama2.c tokenizer.bin>`);
    file = sibling;
  }
  const bytes = await readBytes(file, "tokenizer");
  return { tokenizer: loadLlama2cTokenizer(bytes, vocabSize), bytes };
}

export async function loadServedModel(modelConfig: ServerConfig["model"]): Promise<ServedModel> {
  let modelPath = modelConfig.path;
  let tokenizerPath = modelConfig.tokenizerPath;
  if (modelPath === undefined) {
    const directory = defaultModelDirectory();
    modelPath = path.join(directory, defaultModelFile);
    tokenizerPath ??= path.join(directory, defaultTokenizerFile);
  }
  const format = detectFormat(modelPath, modelConfig.format);
  const id = modelConfig.id ?? path.basename(path.resolve(modelPath)).replace(/\.(bin|gguf|safetensors|onnx)$/i, "");
  const createdSeconds = Math.floor(Date.now() / 1000);
  const contextLength = modelConfig.contextLength;
  try {
    if (format === "hf-folder") {
      // --model-format safetensors / onnx picks the folder's weights when it has both.
      const declared = modelConfig.format === "safetensors" || modelConfig.format === "onnx" ? modelConfig.format : undefined;
      const loaded = await loadHuggingFaceFolderModel(modelPath, declared);
      const base = { id, format, fingerprint: loaded.fingerprint, createdSeconds };
      return fromRuntime(base, loaded.runtime, loaded.folder.tokenizer, contextLength, { addBos: loaded.folder.tokenizer.addBos, chatFormat: loaded.chatFormat });
    }
    if (format === "llama2c") {
      const weightBytes = await readBytes(modelPath, "model");
      const weights = loadLlama2cCheckpoint(weightBytes);
      const { tokenizer, bytes } = await llama2cTokenizerFor(tokenizerPath, modelPath, weights.config.vocabSize);
      const base = { id, format, fingerprint: fingerprintOf(weightBytes, bytes), createdSeconds };
      return fromRuntime(base, inProcessRuntime(new LlamaRuntime(weights)), tokenizer, contextLength);
    }
    if (format === "gguf") {
      // Read through a byte source: the header now, each matrix as the backend uploads its blocks,
      // so the file is never in memory whole (as llama.cpp's mmap); closed once the backend holds them.
      const source = openByteSource(modelPath);
      try {
        const fileHash = await fileSha256(modelPath);
        // Matrices stay the file's blocks (dequantized lazily only where the backend cannot multiply them).
        const loaded = loadGgufLlama(source, { lazyMatrices: true });
        const runtime = await wasmLlamaRuntime(loaded);
        const base = { id, format, fingerprint: fingerprintOfHash(fileHash.copy()), createdSeconds };
        if (tokenizerPath !== undefined || !loaded.tokenizer) {
          // A tokenizer from outside the file: the file's template names its own tokens, so the plain join.
          loaded.releaseFile();
          const external = await llama2cTokenizerFor(tokenizerPath, modelPath, loaded.weights.config.vocabSize);
          return fromRuntime({ ...base, fingerprint: fingerprintOfHash(fileHash.update(external.bytes)) }, runtime, external.tokenizer, contextLength);
        }
        // The file's own tokenizer (ggufTokenizer: stop tokens from its EOS / EOT ids) and chat template.
        const tokenizer = loaded.tokenizer;
        const prompting = { addBos: tokenizer.addBos, chatFormat: ggufChatFormat(loaded.file, tokenizer, tokenizer.addBos) };
        // The backend holds the weights now: nothing reads the file any more.
        loaded.releaseFile();
        return fromRuntime(base, runtime, tokenizer, contextLength, prompting);
      } finally {
        source.close();
      }
    }
    if (format === "safetensors") {
      // Hugging Face layout: config.json next to the weights; GPT-2 brings encoder.json + vocab.bpe.
      const weightBytes = await readBytes(modelPath, "model");
      const configBytes = await readSibling(modelPath, "config.json");
      if (!configBytes) throw new ModelLoadError(`safetensors model ${modelPath} needs config.json in the same folder`);
      const configJson = JSON.parse(new TextDecoder().decode(configBytes)) as Record<string, unknown>;
      if (configJson.model_type === "gpt2") {
        const encoder = await readSibling(modelPath, "encoder.json");
        const merges = (await readSibling(modelPath, "vocab.bpe")) ?? (await readSibling(modelPath, "merges.txt"));
        if (!encoder || !merges) throw new ModelLoadError(`GPT-2 model ${modelPath} needs encoder.json and vocab.bpe in the same folder`);
        const base = { id, format, fingerprint: fingerprintOf(weightBytes, configBytes, encoder, merges), createdSeconds };
        return fromRuntime(base, inProcessRuntime(new Gpt2Runtime(loadSafetensorsGpt2(weightBytes, configJson))), loadGpt2Tokenizer(encoder, merges), contextLength);
      }
      const weights = loadSafetensorsLlama(weightBytes, configJson);
      const { tokenizer, bytes } = await llama2cTokenizerFor(tokenizerPath, modelPath, weights.config.vocabSize);
      const base = { id, format, fingerprint: fingerprintOf(weightBytes, configBytes, bytes), createdSeconds };
      return fromRuntime(base, inProcessRuntime(new LlamaRuntime(weights)), tokenizer, contextLength);
    }
    // ONNX decoder-with-past: ONNX Runtime runs the graph, kvpack holds the KV between steps.
    const modelBytes = await readBytes(modelPath, "model");
    const decoder = await createOnnxDecoder({ ort: await loadOnnxRuntimeNode(), model: modelBytes });
    if (decoder.vocabSize === undefined) {
      throw new ModelLoadError("the ONNX model's logits output has no fixed vocabulary size, so its llama2.c tokenizer cannot be checked against it; export the model with a static vocab dimension");
    }
    const { tokenizer, bytes } = await llama2cTokenizerFor(tokenizerPath, modelPath, decoder.vocabSize);
    const cacheShape = { layers: decoder.layers, kvHeads: decoder.kvHeads, headDim: decoder.headDim };
    return {
      id,
      format,
      architecture: "onnx-decoder",
      vocabSize: decoder.vocabSize,
      cacheShape,
      forward: (token, position, cache) => decoder.forward([token], cache, { position }),
      tokenizer,
      addBos: true,
      chatFormat: plainJoinFormat,
      contextLength: contextLength ?? 2048,
      fingerprint: fingerprintOf(modelBytes, bytes),
      createdSeconds,
    };
  } catch (error) {
    if (error instanceof ModelLoadError) throw error;
    throw new ModelLoadError(`cannot load ${format} model ${modelPath}: ${(error as Error).message}`);
  }
}
