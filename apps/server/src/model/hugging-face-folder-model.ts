import { createHash } from "node:crypto";
import { createModelFolderRuntime, createOnnxDecoder, loadModelFolder, loadOnnxRuntimeNode, type ModelFolder } from "@kvpack/adapters";
import { type ChatPromptFormat, modelTemplateFormat, plainJoinFormat } from "./chat-prompt-format.js";
import { inProcessRuntime, type ServedRuntime } from "./served-runtime.js";

/** What a Hugging Face model folder gives the server: its runtime, tokenizer, chat format and a fingerprint of what it computes with. */
export interface HuggingFaceFolderModel {
  readonly folder: ModelFolder;
  readonly runtime: ServedRuntime;
  readonly chatFormat: ChatPromptFormat;
  readonly fingerprint: string;
}

function hashArrays(hash: ReturnType<typeof createHash>, arrays: readonly ArrayBufferView[]): void {
  for (const array of arrays) hash.update(new Uint8Array(array.buffer, array.byteOffset, array.byteLength));
}

/**
 * Loads a Hugging Face folder (config.json, tokenizer.json, tokenizer_config.json, safetensors or an
 * onnx/ decoder) with loadModelFolder: safetensors run in process (LlamaRuntime / Gpt2Runtime), an
 * ONNX decoder through ONNX Runtime with the KV in kvpack's cache; the chat template is the
 * folder's own.
 */
export async function loadHuggingFaceFolderModel(directory: string, format: "safetensors" | "onnx" | undefined): Promise<HuggingFaceFolderModel> {
  const folder = await loadModelFolder(directory, format === undefined ? {} : { format });
  const hash = createHash("sha256");
  hash.update(JSON.stringify(folder.config));
  let runtime: ServedRuntime;
  const { weights } = folder;
  if (weights.kind === "onnx") {
    hash.update(weights.bytes);
    for (const { data } of weights.externalData) hash.update(data);
    const decoder = await createOnnxDecoder({ ort: await loadOnnxRuntimeNode(), model: weights.bytes, externalData: weights.externalData });
    const vocabSize = decoder.vocabSize ?? Number(folder.config.vocab_size);
    runtime = {
      architecture: `onnx-${folder.architecture}`,
      vocabSize,
      maxSequenceLength: Number(folder.config.max_position_embeddings ?? folder.config.n_positions ?? 2048),
      cacheShape: { layers: decoder.layers, kvHeads: decoder.kvHeads, headDim: decoder.headDim },
      forward: async (token, position, cache) => (await decoder.forward([token], cache, { position })).slice(-vocabSize),
    };
  } else {
    const model = weights.kind === "llama" ? weights.description.weights : weights.weights;
    hashArrays(hash, Object.values(model).filter((value): value is Float32Array => value instanceof Float32Array));
    for (const layer of model.layers) hashArrays(hash, Object.values(layer) as Float32Array[]);
    runtime = inProcessRuntime(createModelFolderRuntime(folder));
  }
  const { tokenizer, chatTemplate } = folder;
  const chatFormat = chatTemplate
    ? modelTemplateFormat(chatTemplate.source, { bosToken: tokenizer.tokenText("bos_token"), eosToken: tokenizer.tokenText("eos_token"), tokenizerAddsBos: tokenizer.addBos })
    : plainJoinFormat;
  return { folder, runtime, chatFormat, fingerprint: hash.digest("hex").slice(0, 16) };
}
