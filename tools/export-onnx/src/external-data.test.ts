import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createOnnxDecoder, loadLlama2cCheckpoint, loadLlama2cTokenizer, loadModelFolder, loadOnnxRuntimeNode, ModelFormatError, sentencePieceTokenizerJson, type OnnxExternalDataFile } from "@kvpack/adapters";
import { DenseKVCache } from "@kvpack/cache";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { huggingFaceFolderFiles, writeHuggingFaceFolder } from "./hugging-face-folder.js";
import { readModelsData } from "./test-support/models-data.js";

// A Hugging Face folder whose decoders keep their weights in onnx/<file>.onnx_data (ONNX external
// data) against the single-file export of the same checkpoint: loadModelFolder finds the data file,
// ONNX Runtime gets it as the externalData session option, and the greedy tokens and logits match.
const steps = 32;
// "Once upon a time" with BOS in tok512 (stories260K.reference.json prompt_token_ids).
const prompt = [1, 403, 407, 261, 378];

interface Run {
  readonly ids: number[];
  readonly logits: Float32Array;
}

async function greedy(model: Uint8Array | string, externalData: readonly OnnxExternalDataFile[]): Promise<Run> {
  const decoder = await createOnnxDecoder({ ort: await loadOnnxRuntimeNode(), model, externalData });
  try {
    const cache = new DenseKVCache({ layers: decoder.layers, kvHeads: decoder.kvHeads, headDim: decoder.headDim, capacity: prompt.length + steps });
    const ids = await decoder.generateGreedy(prompt, prompt.length + steps, cache);
    // The last step's logits, as a byte-level check that the weights read are the same.
    const logits = await decoder.forward([ids[ids.length - 1]], cache);
    return { ids, logits };
  } finally {
    await decoder.release();
  }
}

describe("ONNX external data: onnx/model.onnx + onnx/model.onnx_data", () => {
  const directory = mkdtempSync(path.join(tmpdir(), "kvpack-external-data-"));
  const inline = path.join(directory, "inline");
  const external = path.join(directory, "external");
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  beforeAll(async () => {
    const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
    const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), weights.config.vocabSize);
    const tokenizerJson = sentencePieceTokenizerJson({ pieces: Array.from({ length: 512 }, (_, id) => tokenizer.piece(id)), scores: Array.from({ length: 512 }, (_, id) => tokenizer.score(id)) });
    await writeHuggingFaceFolder(inline, huggingFaceFolderFiles(weights, { tokenizerJson, onnx: ["fp32", "q8"], modelName: "stories260K" }));
    await writeHuggingFaceFolder(external, huggingFaceFolderFiles(weights, { tokenizerJson, onnx: ["fp32", "q8"], modelName: "stories260K", externalData: true }));
  });

  it("the exporter moves every initializer of 1 KiB or more into the data file and tells transformers.js in config.json", () => {
    const graphBytes = statSync(path.join(external, "onnx", "model.onnx")).size;
    const dataBytes = statSync(path.join(external, "onnx", "model.onnx_data")).size;
    const inlineBytes = statSync(path.join(inline, "onnx", "model.onnx")).size;
    console.log(`stories260K fp32: single file ${inlineBytes} B; external ${graphBytes} B graph + ${dataBytes} B data`);
    // stories260K holds 260K float32 parameters (~1 MB) plus the RoPE tables: nearly all of it moves; the graph keeps nodes and small constants.
    expect(dataBytes).toBeGreaterThan(1_000_000);
    expect(graphBytes).toBeLessThan(inlineBytes / 10);
    const config = JSON.parse(readFileSync(path.join(external, "config.json"), "utf8")) as Record<string, { use_external_data_format?: unknown }>;
    expect(config["transformers.js_config"].use_external_data_format).toEqual({ "model.onnx": 1, "model_quantized.onnx": 1 });
  });

  it.each(["onnx/model.onnx", "onnx/model_quantized.onnx"])("%s through loadModelFolder: same greedy tokens and logits as the single-file export", async (onnxFile) => {
    const single = await loadModelFolder(inline, { format: "onnx", onnxFile });
    const split = await loadModelFolder(external, { format: "onnx", onnxFile });
    if (single.weights.kind !== "onnx" || split.weights.kind !== "onnx") throw new Error("expected ONNX decoders");
    expect(single.weights.externalData).toEqual([]);
    const dataName = `${path.posix.basename(onnxFile)}_data`;
    expect(split.weights.externalData.map(({ path: location }) => location)).toEqual([dataName]);
    expect(split.weights.externalData[0].data.byteLength).toBe(statSync(path.join(external, "onnx", dataName)).size);
    const reference = await greedy(single.weights.bytes, []);
    const fromMemory = await greedy(split.weights.bytes, split.weights.externalData);
    // The same initializer values and graph: ORT computes bit-identical logits (tolerance 0).
    expect(fromMemory.ids).toEqual(reference.ids);
    expect(Array.from(fromMemory.logits)).toEqual(Array.from(reference.logits));
    // onnxruntime-node given the path reads the data file beside the model itself.
    const fromPath = await greedy(path.join(external, onnxFile), []);
    expect(fromPath.ids).toEqual(reference.ids);
  });

  it("a dropped folder (a Map of Blobs, as the browser gives) finds the data file too", async () => {
    const names = ["config.json", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "onnx/model.onnx", "onnx/model.onnx_data"];
    const files = new Map(names.map((name) => [`external/${name}`, new Blob([readFileSync(path.join(external, name))])]));
    const folder = await loadModelFolder(files);
    if (folder.weights.kind !== "onnx") throw new Error("expected the ONNX decoder");
    expect(folder.weights.externalData.map(({ path: location }) => location)).toEqual(["model.onnx_data"]);
    const reference = await loadModelFolder(inline, { format: "onnx" });
    if (reference.weights.kind !== "onnx") throw new Error("expected the ONNX decoder");
    expect((await greedy(folder.weights.bytes, folder.weights.externalData)).ids).toEqual((await greedy(reference.weights.bytes, [])).ids);
  });

  it("a model.onnx naming a missing model.onnx_data is a ModelFormatError naming the file", async () => {
    const names = ["config.json", "tokenizer.json", "tokenizer_config.json", "onnx/model.onnx"];
    const files = new Map(names.map((name) => [name, new Uint8Array(readFileSync(path.join(external, name)))]));
    const error = await loadModelFolder(files).then(() => undefined, (reason: unknown) => reason);
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as ModelFormatError).message).toMatch(/has no onnx\/model\.onnx_data \(onnx\/model\.onnx keeps its weights there as ONNX external data\)/);
  });

  it("transformers.js 4.3.1 loads the external-data folder (config.json's use_external_data_format) and decodes the same tokens", async () => {
    const transformers = await import("@huggingface/transformers");
    transformers.env.allowRemoteModels = false;
    transformers.env.localModelPath = `${directory}${path.sep}`;
    const model = await transformers.AutoModelForCausalLM.from_pretrained("external", { dtype: "fp32", device: "cpu" });
    try {
      const input = new transformers.Tensor("int64", BigInt64Array.from(prompt, BigInt), [1, prompt.length]);
      const mask = new transformers.Tensor("int64", new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
      const generated = (await model.generate({ input_ids: input, attention_mask: mask, max_new_tokens: steps, do_sample: false })) as { tolist(): bigint[][] };
      const ids = generated.tolist()[0].map(Number);
      const reference = await loadModelFolder(inline, { format: "onnx" });
      if (reference.weights.kind !== "onnx") throw new Error("expected the ONNX decoder");
      // generate stops at EOS (generation_config.json); compare the tokens it produced.
      expect(ids.length).toBeGreaterThan(prompt.length + 8);
      expect(ids).toEqual((await greedy(reference.weights.bytes, [])).ids.slice(0, ids.length));
    } finally {
      await model.dispose();
    }
  });
});
