import { createHash } from "node:crypto";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { LlamaRuntime, loadLlama2cCheckpoint, loadLlama2cTokenizer } from "@kvpack/adapters";
import type { LanguageModelRuntime, Tokenizer } from "@kvpack/adapters";
import type { ServerConfig } from "../config/server-config.js";

/** A loaded model as the server uses it. */
export interface ServedModel {
  /** Name in /v1/models and in requests. */
  readonly id: string;
  readonly format: "llama2c" | "gguf" | "safetensors" | "onnx";
  readonly runtime: LanguageModelRuntime;
  readonly tokenizer: Tokenizer;
  readonly contextLength: number;
  /** Hash of the weights (and tokenizer): part of every prefix key, so models never share pages. */
  readonly fingerprint: string;
  readonly createdSeconds: number;
}

/** Thrown when the configured model cannot be found or read; main.ts reports it and exits. */
export class ModelLoadError extends Error {
  override readonly name = "ModelLoadError";
}

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
  if (declared !== "auto") return declared;
  const extension = path.extname(file).toLowerCase();
  if (extension === ".gguf") return "gguf";
  if (extension === ".safetensors") return "safetensors";
  if (extension === ".onnx") return "onnx";
  return "llama2c";
}

async function readBytes(file: string, what: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (error) {
    throw new ModelLoadError(`cannot read ${what} ${file}: ${(error as Error).message}`);
  }
}

function fingerprintOf(...parts: Uint8Array[]): string {
  const hash = createHash("sha256");
  for (const part of parts) hash.update(part);
  return hash.digest("hex").slice(0, 16);
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
  const id = modelConfig.id ?? path.basename(modelPath).replace(/\.(bin|gguf|safetensors|onnx)$/i, "");
  const createdSeconds = Math.floor(Date.now() / 1000);
  if (format === "llama2c") {
    if (tokenizerPath === undefined) {
      const sibling = path.join(path.dirname(modelPath), "tokenizer.bin");
      if (!existsSync(sibling)) throw new ModelLoadError(`llama2.c model ${modelPath} needs a tokenizer: pass --tokenizer <tokenizer.bin>`);
      tokenizerPath = sibling;
    }
    const weightBytes = await readBytes(modelPath, "model");
    const tokenizerBytes = await readBytes(tokenizerPath, "tokenizer");
    const weights = loadLlama2cCheckpoint(weightBytes);
    const tokenizer = loadLlama2cTokenizer(tokenizerBytes, weights.config.vocabSize);
    const runtime = new LlamaRuntime(weights);
    return { id, format, runtime, tokenizer, contextLength: runtime.maxSequenceLength, fingerprint: fingerprintOf(weightBytes, tokenizerBytes), createdSeconds };
  }
  throw new ModelLoadError(`model format ${format} is not supported by this build yet`);
}
