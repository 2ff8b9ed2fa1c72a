import { describe, expect, it } from "vitest";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { describeLlamaModel, llamaArchitectures } from "../model/llama-model-description.js";
import { ModelArgumentError, ModelFormatError } from "../model/model-format-error.js";
import { ropeFrequencies } from "../model/rope.js";
import { readModelsData } from "../model/test-models-data.js";
import { GgufFile } from "./gguf-file.js";
import { type GgufWriterTensor, type GgufWriterValue, writeGguf } from "./gguf-writer.js";
import { loadGgufLlama } from "./load-gguf-llama.js";
import { randomArchitectureModel } from "./test-architecture-models.js";
import { writeLlamaGguf } from "./write-llama-gguf.js";

const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
const models = new Map(llamaArchitectures.map((architecture) => [architecture, randomArchitectureModel(architecture, 512)]));
const files = new Map(llamaArchitectures.map((architecture) => [architecture, writeLlamaGguf(models.get(architecture)!, tokenizer)]));

/** Re-writes a GGUF with keys and tensors dropped or set (tensors as F32), to make malformed files. */
function rewrite(bytes: Uint8Array, edit: { dropKeys?: string[]; setKeys?: Record<string, GgufWriterValue>; dropTensors?: string[]; addTensors?: GgufWriterTensor[] }): Uint8Array {
  const file = new GgufFile(bytes);
  const metadata: Record<string, GgufWriterValue> = {};
  for (const [key, value] of file.metadata) {
    if (edit.dropKeys?.includes(key)) continue;
    if (typeof value === "string") metadata[key] = { type: "string", value };
    else if (typeof value === "number") metadata[key] = { type: Number.isInteger(value) ? "uint32" : "float32", value };
    else if (Array.isArray(value)) {
      const itemType = typeof value[0] === "string" ? "string" : value.every((item) => Number.isInteger(item)) ? "int32" : "float32";
      metadata[key] = { type: "array", itemType, value: value as (string | number)[] };
    }
  }
  Object.assign(metadata, edit.setKeys);
  const tensors: GgufWriterTensor[] = [...file.tensors.values()]
    .filter((info) => !edit.dropTensors?.includes(info.name))
    .map((info) => ({ name: info.name, dims: info.dims, type: "F32", data: file.float32(info.name) }));
  return writeGguf(metadata, [...tensors, ...(edit.addTensors ?? [])]);
}

function formatError(load: () => unknown): ModelFormatError {
  try {
    load();
  } catch (error) {
    if (ModelFormatError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected a ModelFormatError");
}

describe("GGUF architectures: written by writeLlamaGguf, read back by loadGgufLlama", () => {
  it.each(llamaArchitectures)("%s: the same description and (F32) the same weights", (architecture) => {
    const written = models.get(architecture)!;
    const loaded = loadGgufLlama(files.get(architecture)!);
    const { description } = loaded;
    expect(loaded.file.metadata.get("general.architecture")).toBe(architecture);
    expect(description.architecture).toBe(architecture);
    expect(description.config).toEqual(written.config);
    expect(description.layerAttention).toEqual(written.layerAttention);
    expect(description.rope.style).toBe(written.rope.style);
    expect(description.activation).toBe(written.activation);
    for (const key of ["embeddingScale", "attentionScale", "attentionLogitSoftCap", "finalLogitSoftCap"] as const) expect(description[key]).toBe(written[key]);
    // Bit-identical floats (compared as bytes: a deep equality over a million floats is slow).
    const bytes = (values: Float32Array | undefined) => Buffer.from(values!.buffer, values!.byteOffset, values!.byteLength);
    for (const [i, layer] of written.weights.layers.entries()) {
      const read = description.weights.layers[i];
      expect(Object.keys(read).sort()).toEqual(Object.keys(layer).sort());
      for (const [name, value] of Object.entries(layer)) expect(bytes(read[name as keyof typeof layer]).equals(bytes(value)), `layer ${i} ${name}`).toBe(true);
    }
    expect(bytes(description.weights.classifier).equals(bytes(written.weights.classifier))).toBe(true);
    expect(bytes(description.weights.finalNorm).equals(bytes(written.weights.finalNorm))).toBe(true);
  });

  it("llama: Llama 3 scaling travels as rope_freqs.weight and gives the same frequencies (to float32 rounding)", () => {
    const written = models.get("llama")!;
    const loaded = loadGgufLlama(files.get("llama")!);
    expect(loaded.file.has("rope_freqs.weight")).toBe(true);
    expect(loaded.description.rope.scaling).toBeUndefined();
    const expected = ropeFrequencies(64, written.rope);
    const actual = ropeFrequencies(64, loaded.description.rope);
    // factor = plain / scaled in float32, then plain / factor: two roundings, ≤ 2 ulp relative (2·2^-24).
    for (let pair = 0; pair < 32; pair++) expect(Math.abs(actual[pair] - expected[pair]) / expected[pair]).toBeLessThanOrEqual(2 ** -23);
    // Low frequencies really were divided (factor 32 for wavelengths above 8192).
    expect(expected[31]).toBeLessThan(ropeFrequencies(64, { style: "interleaved", freqBase: 500000 })[31] / 31);
  });

  it("writes llama.cpp's keys and tensor names", () => {
    const keys = (architecture: string) => new GgufFile(files.get(architecture as never)!);
    expect(keys("qwen3").metadata.get("qwen3.attention.key_length")).toBe(128);
    expect(keys("qwen3").has("blk.1.attn_k_norm.weight")).toBe(true);
    expect(keys("qwen2").has("blk.0.attn_v.bias")).toBe(true);
    expect(keys("phi3").has("blk.0.attn_qkv.weight")).toBe(true);
    expect(keys("phi3").has("blk.0.ffn_gate.weight")).toBe(false);
    expect(keys("phi3").tensors.get("blk.0.ffn_up.weight")!.dims).toEqual([256, 1024]);
    const gemma = keys("gemma2");
    expect(gemma.metadata.get("gemma2.attention.sliding_window")).toBe(16);
    expect(gemma.metadata.get("gemma2.attn_logit_softcapping")).toBe(2);
    expect(gemma.metadata.get("gemma2.final_logit_softcapping")).toBe(15);
    expect(gemma.has("blk.0.post_attention_norm.weight") && gemma.has("blk.0.post_ffw_norm.weight")).toBe(true);
    expect(gemma.has("output.weight")).toBe(false);
  });

  it("Gemma 2 without soft-cap keys takes llama.cpp's defaults (50 and 30)", () => {
    const bytes = rewrite(files.get("gemma2")!, { dropKeys: ["gemma2.attn_logit_softcapping", "gemma2.final_logit_softcapping"] });
    expect(loadGgufLlama(bytes).description).toMatchObject({ attentionLogitSoftCap: 50, finalLogitSoftCap: 30 });
  });
});

describe("GGUF architectures: bad files are a ModelFormatError naming what is wrong", () => {
  it.each([
    ["an unsupported architecture", "llama", { setKeys: { "general.architecture": { type: "string", value: "mamba" } } }, "unsupported", /general.architecture is "mamba"; supported: "llama", "qwen2", "qwen3", "phi3", "gemma2"/],
    ["a missing required key", "qwen2", { dropKeys: ["qwen2.block_count"] }, "bad-metadata", /qwen2.block_count must be a number, got nothing/],
    ["Gemma 2 without its sliding window", "gemma2", { dropKeys: ["gemma2.attention.sliding_window"] }, "bad-metadata", /gemma2.attention.sliding_window must be a number/],
    ["Qwen2 without a bias", "qwen2", { dropTensors: ["blk.1.attn_k.bias"] }, "missing-tensor", /no tensor blk.1.attn_k.bias/],
    ["Qwen3 without a q norm", "qwen3", { dropTensors: ["blk.0.attn_q_norm.weight"] }, "missing-tensor", /no tensor blk.0.attn_q_norm.weight/],
    ["Gemma 2 without a post norm", "gemma2", { dropTensors: ["blk.1.post_ffw_norm.weight"] }, "missing-tensor", /no tensor blk.1.post_ffw_norm.weight/],
    ["Phi-3 without its fused up", "phi3", { dropTensors: ["blk.0.ffn_up.weight"] }, "missing-tensor", /no tensor blk.0.ffn_up.weight/],
    ["a head size that does not fit the tensors", "qwen3", { setKeys: { "qwen3.attention.key_length": { type: "uint32", value: 64 }, "qwen3.attention.value_length": { type: "uint32", value: 64 }, "qwen3.rope.dimension_count": { type: "uint32", value: 64 } } }, "bad-shape", /blk.0.attn_q.weight has dims \[256, 512\], expected \[256, 256\]/],
    ["YaRN scaling", "qwen2", { setKeys: { "qwen2.rope.scaling.type": { type: "string", value: "yarn" } } }, "unsupported", /qwen2.rope.scaling.type "yarn" is not supported/],
    ["LongRoPE factors", "phi3", { addTensors: [{ name: "rope_factors_long.weight", dims: [32], type: "F32", data: new Float32Array(32).fill(1) }] }, "unsupported", /rope_factors_long.weight: LongRoPE/],
    ["rope_freqs of the wrong length", "llama", { dropTensors: ["rope_freqs.weight"], addTensors: [{ name: "rope_freqs.weight", dims: [16], type: "F32", data: new Float32Array(16).fill(1) }] }, "bad-shape", /rope_freqs.weight has dims \[16\], expected \[32\]/],
  ] as const)("%s", (_name, architecture, edit, code, message) => {
    const error = formatError(() => loadGgufLlama(rewrite(files.get(architecture)!, edit as never)));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
  });

  it("a linear rope.scaling divides every frequency by its factor", () => {
    const bytes = rewrite(files.get("qwen2")!, { setKeys: { "qwen2.rope.scaling.type": { type: "string", value: "linear" }, "qwen2.rope.scaling.factor": { type: "float32", value: 4 } } });
    const { rope } = loadGgufLlama(bytes).description;
    expect(rope.scaling).toEqual({ kind: "linear", factor: 4 });
    const plain = ropeFrequencies(64, { style: "neox", freqBase: 1000000 });
    expect(Array.from(ropeFrequencies(64, rope))).toEqual(Array.from(plain, (frequency) => Math.fround(frequency / 4)));
  });
});

describe("writeLlamaGguf refuses what a file of the architecture cannot say", () => {
  const qwen2 = models.get("qwen2")!;
  const gemma = models.get("gemma2")!;
  it.each([
    ["qwen2 with interleaved RoPE", () => describeLlamaModel(qwen2.weights, { ...qwen2, rope: { ...qwen2.rope, style: "interleaved" } }), /qwen2 GGUF cannot express interleaved RoPE/],
    ["gemma2 with an untied classifier", () => describeLlamaModel({ ...gemma.weights, config: { ...gemma.config, sharedClassifier: false } }, gemma), /untied classifier/],
    ["gemma2 with full attention everywhere", () => describeLlamaModel(gemma.weights, { ...gemma, layerAttention: [{ kind: "full" }, { kind: "full" }] }), /layer kinds/],
    ["llama with a soft cap", () => describeLlamaModel(models.get("llama")!.weights, { ...models.get("llama")!, finalLogitSoftCap: 30 }), /llama GGUF cannot express soft caps/],
    ["qwen2 with RoPE scaling", () => describeLlamaModel(qwen2.weights, { ...qwen2, rope: { ...qwen2.rope, frequencyFactors: new Float32Array(32).fill(2) } }), /RoPE scaling/],
  ] as const)("%s", (_name, model, message) => {
    expect(() => writeLlamaGguf(model(), tokenizer)).toThrowError(ModelArgumentError);
    expect(() => writeLlamaGguf(model(), tokenizer)).toThrowError(message);
  });
});
