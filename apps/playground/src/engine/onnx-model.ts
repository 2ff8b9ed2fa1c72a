import { createOnnxDecoder, loadLlama2cTokenizer, type OnnxDecoder, type OnnxRuntimeModule, type Tokenizer } from "@kvpack/adapters";
import type { KVCache } from "@kvpack/cache";
import type { StepModel } from "./dual-generation.js";
import type { NamedBytes } from "./model-loader.js";
import { PlaygroundError } from "./plain-error.js";

export interface LoadedOnnxModel {
  readonly name: string;
  readonly decoder: OnnxDecoder;
  readonly tokenizer: Tokenizer;
  readonly vocabSize: number;
}

/**
 * Loads an ONNX decoder-with-past (HF Optimum layout) into ONNX Runtime Web's WASM build, loaded
 * only when an ONNX file is dropped (its wasm binary is large). The model has no tokenizer inside:
 * a llama2.c tokenizer .bin dropped with it is used, or the bundled tok512 for 512-token vocabularies.
 */
export async function loadOnnxModel(file: NamedBytes, tokenizerFile: NamedBytes | undefined, fallbackTokenizer: NamedBytes | undefined): Promise<LoadedOnnxModel> {
  const ort = await import("onnxruntime-web/wasm");
  // One thread: SharedArrayBuffer needs cross-origin isolation, which a plain static server lacks.
  ort.env.wasm.numThreads = 1;
  const decoder = await createOnnxDecoder({
    ort: ort as unknown as OnnxRuntimeModule,
    model: new Uint8Array(file.bytes),
    sessionOptions: { executionProviders: ["wasm"] },
  });
  const vocabSize = decoder.vocabSize;
  const source = tokenizerFile ?? (vocabSize === 512 ? fallbackTokenizer : undefined);
  if (!source || vocabSize === undefined) {
    await decoder.release();
    throw new PlaygroundError(
      `The ONNX model's vocabulary (${vocabSize ?? "unknown size"}) needs its tokenizer: drop the model together with its llama2.c tokenizer .bin.`,
    );
  }
  return { name: file.name.replace(/\.onnx$/i, ""), decoder, tokenizer: loadLlama2cTokenizer(source.bytes, vocabSize), vocabSize };
}

/** One token per call through the decoder, which reads past keys and values from the cache. */
export function onnxStepModel(model: LoadedOnnxModel): StepModel {
  return {
    vocabSize: model.vocabSize,
    forward: (token: number, position: number, cache: KVCache) => model.decoder.forward([token], cache, { position }),
  };
}
