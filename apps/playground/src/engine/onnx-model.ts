import { createOnnxDecoder, loadLlama2cTokenizer, type ModelFolder, type OnnxDecoder, type OnnxExternalDataFile, type OnnxRuntimeModule, type Tokenizer } from "@kvpack/adapters";
import type { KVCache } from "@kvpack/cache";
import type { StepModel } from "./dual-generation.js";
import type { NamedBytes } from "./model-loader.js";
import { PlaygroundError } from "./plain-error.js";

export interface LoadedOnnxModel {
  readonly name: string;
  readonly decoder: OnnxDecoder;
  readonly tokenizer: Tokenizer;
  readonly vocabSize: number;
  /** Whether prompts start with BOS (a folder's tokenizer says; llama2.c tokenizers: yes). */
  readonly addBos: boolean;
}

/** ONNX Runtime Web's WASM build, imported only when an ONNX model comes (its wasm binary is large), and a decoder on it. */
async function startDecoder(bytes: Uint8Array, externalData: readonly OnnxExternalDataFile[] = []): Promise<OnnxDecoder> {
  const ort = await import("onnxruntime-web/wasm");
  // One thread: SharedArrayBuffer needs cross-origin isolation, which a plain static server lacks.
  ort.env.wasm.numThreads = 1;
  return createOnnxDecoder({ ort: ort as unknown as OnnxRuntimeModule, model: bytes, externalData, sessionOptions: { executionProviders: ["wasm"] } });
}

/**
 * Loads an ONNX decoder-with-past (HF Optimum layout) into ONNX Runtime Web's WASM build, loaded
 * only when an ONNX file is dropped (its wasm binary is large). The model has no tokenizer inside:
 * a llama2.c tokenizer .bin dropped with it is used, or the bundled tok512 for 512-token vocabularies.
 */
export async function loadOnnxModel(file: NamedBytes, tokenizerFile: NamedBytes | undefined, fallbackTokenizer: NamedBytes | undefined): Promise<LoadedOnnxModel> {
  const decoder = await startDecoder(new Uint8Array(file.bytes));
  const vocabSize = decoder.vocabSize;
  const source = tokenizerFile ?? (vocabSize === 512 ? fallbackTokenizer : undefined);
  if (!source || vocabSize === undefined) {
    await decoder.release();
    throw new PlaygroundError(
      `The ONNX model's vocabulary (${vocabSize ?? "unknown size"}) needs its tokenizer: drop the model together with its llama2.c tokenizer .bin.`,
    );
  }
  return { name: file.name.replace(/\.onnx$/i, ""), decoder, tokenizer: loadLlama2cTokenizer(source.bytes, vocabSize), vocabSize, addBos: true };
}

/**
 * The ONNX decoder of a Hugging Face folder (onnx/model.onnx, transformers.js layout) with the
 * folder's own tokenizer; a decoder without a fixed vocabulary dimension takes config.json's vocab_size.
 * Weights kept as ONNX external data (onnx/model.onnx_data) go to ONNX Runtime Web as its externalData option.
 */
export async function loadOnnxFolderModel(name: string, folder: ModelFolder, bytes: Uint8Array): Promise<LoadedOnnxModel> {
  const decoder = await startDecoder(bytes, folder.weights.kind === "onnx" ? folder.weights.externalData : []);
  const vocabSize = decoder.vocabSize ?? Number(folder.config.vocab_size);
  if (!(vocabSize >= folder.tokenizer.vocabSize)) {
    await decoder.release();
    throw new PlaygroundError(`The folder's ONNX decoder has a vocabulary of ${vocabSize} but its tokenizer.json ${folder.tokenizer.vocabSize} tokens: they belong to different models.`);
  }
  return { name, decoder, tokenizer: folder.tokenizer, vocabSize, addBos: folder.tokenizer.addBos };
}

/** One token per call through the decoder, which reads past keys and values from the cache. */
export function onnxStepModel(model: LoadedOnnxModel): StepModel {
  return {
    vocabSize: model.vocabSize,
    // Graphs that return every position's logits: the last vocabSize values are this token's.
    forward: async (token: number, position: number, cache: KVCache) => (await model.decoder.forward([token], cache, { position })).slice(-model.vocabSize),
  };
}
