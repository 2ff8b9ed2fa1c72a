import { DenseKVCache } from "@kvpack/cache";
import { createTypeScriptBackend, createWasmBackend, type DeviceArray, type KernelBackend } from "@kvpack/kernels";
import { describe, expect, it } from "vitest";
import { loadGgufLlama } from "../gguf/load-gguf-llama.js";
import { writeLlamaGguf } from "../gguf/write-llama-gguf.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";
import { readModelsData } from "../model/test-models-data.js";
import { KernelLlamaRuntime, ResidentLlamaWeights } from "./kernel-llama-runtime.js";
import { residentMatrixFormat } from "./resident-matrix.js";

/**
 * Weights kept as the GGUF's blocks (Q8_0, Q4_0, Q4_1, Q5_0, F16) on the ts and wasm backends, against the same
 * file dequantized to fp32: a random Llama whose row lengths are whole ggml blocks (dim 64, hidden 128).
 */
const config: LlamaConfig = { dim: 64, hiddenDim: 128, layers: 2, heads: 4, kvHeads: 2, vocabSize: 512, maxSequenceLength: 64, headDim: 16, ropeTheta: 10000, normEpsilon: 1e-5, sharedClassifier: true };

function randomWeights(): LlamaWeights {
  let seed = 3;
  const uniform = (length: number, scale: number) =>
    Float32Array.from({ length }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return (seed / 4294967296 - 0.5) * 2 * scale;
    });
  const { dim, hiddenDim } = config;
  const kvDim = config.kvHeads * config.headDim;
  const tokenEmbedding = uniform(config.vocabSize * dim, 0.5);
  const layers = Array.from({ length: config.layers }, () => ({
    attentionNorm: new Float32Array(dim).fill(1),
    wq: uniform(dim * dim, 0.2),
    wk: uniform(kvDim * dim, 0.2),
    wv: uniform(kvDim * dim, 0.2),
    wo: uniform(dim * dim, 0.2),
    ffnNorm: new Float32Array(dim).fill(1),
    w1: uniform(hiddenDim * dim, 0.2),
    w2: uniform(dim * hiddenDim, 0.2),
    w3: uniform(hiddenDim * dim, 0.2),
  }));
  return { config, tokenEmbedding, layers, finalNorm: new Float32Array(dim).fill(1), classifier: tokenEmbedding };
}

const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
const weights = randomWeights();
const tokens = [1, 37, 402, 9, 288, 77, 150, 3];

async function logitsAfterPrompt(runtime: KernelLlamaRuntime): Promise<Float32Array> {
  const cache = new DenseKVCache({ layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, capacity: tokens.length });
  let logits: Float32Array = new Float32Array(0);
  for (const [position, token] of tokens.entries()) logits = await runtime.forward(token, position, cache);
  return logits;
}

describe.each([
  { name: "ts", create: createTypeScriptBackend },
  { name: "wasm", create: createWasmBackend },
] satisfies { name: string; create: () => KernelBackend }[])("quantized weights on the $name backend", ({ create }) => {
  it.each(["Q8_0", "Q4_0", "Q4_1", "Q5_0", "F16"] as const)("%s: matrices uploaded as blocks; logits within activation-quantization error of fp32", async (type) => {
    const bytes = writeLlamaGguf(weights, tokenizer, { tensorType: type });
    const backend = create();
    await backend.init();
    const fp32 = loadGgufLlama(bytes);
    const lazy = loadGgufLlama(bytes, { lazyMatrices: true });
    const plain = new ResidentLlamaWeights(backend, fp32.weights);
    const blocks = new ResidentLlamaWeights(backend, lazy.weights, { blocks: lazy.matrixBlocks });
    const format = type.toLowerCase();
    expect(residentMatrixFormat(blocks.layers[0].queryKeyValue)).toBe(format);
    expect(residentMatrixFormat(blocks.classifier)).toBe(format);
    expect(residentMatrixFormat(plain.layers[0].queryKeyValue)).toBe("f32");
    // Resident bytes of the blocks = the file's tensor bytes (Q8_0: 34 per 32 weights).
    const perWeight = { Q8_0: 34 / 32, Q4_0: 18 / 32, Q4_1: 20 / 32, Q5_0: 22 / 32, F16: 2 }[type];
    expect(blocks.layers[0].gateUp.length).toBe(2 * config.hiddenDim * config.dim * perWeight);
    const expected = await logitsAfterPrompt(new KernelLlamaRuntime(plain));
    const actual = await logitsAfterPrompt(new KernelLlamaRuntime(blocks));
    let worst = 0;
    let scale = 0;
    for (let i = 0; i < expected.length; i++) {
      worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
      scale = Math.max(scale, Math.abs(expected[i]));
    }
    // F16 weights meet fp32 activations exactly (only float32 reordering); the block formats also round the
    // activations to 8 bits per 32-block (≤ 0.4 % of max|x| per value), which compounds through
    // 2 layers: bounded here at 5 % of the logit range.
    expect(worst).toBeLessThanOrEqual(type === "F16" ? 1e-3 * scale : 0.05 * scale);
    expect(scale).toBeGreaterThan(0.1);
    plain.dispose();
    blocks.dispose();
    backend.dispose();
  });
});

describe("loadGgufLlama lazyMatrices", () => {
  it("dequantizes a matrix only when read, to the same values as an eager load", () => {
    const bytes = writeLlamaGguf(weights, tokenizer, { tensorType: "Q8_0" });
    const eager = loadGgufLlama(bytes).weights;
    const lazy = loadGgufLlama(bytes, { lazyMatrices: true }).weights;
    expect(lazy.layers[1].w2).toEqual(eager.layers[1].w2);
    expect(lazy.layers[1].w2).toBe(lazy.layers[1].w2);
    expect(lazy.classifier).toBe(lazy.tokenEmbedding);
  });

  it("releaseFile: the resident runtime keeps its logits, no weight views the file's bytes, unread matrices and the blocks refuse", async () => {
    const bytes = writeLlamaGguf(weights, tokenizer, { tensorType: "Q8_0" });
    const backend = createWasmBackend({ threads: 1 });
    await backend.init();
    const loaded = loadGgufLlama(bytes, { lazyMatrices: true });
    const before = await logitsAfterPrompt(new KernelLlamaRuntime(new ResidentLlamaWeights(backend, loaded.weights, { blocks: loaded.matrixBlocks }), { description: loaded.description }));
    const runtime = new KernelLlamaRuntime(new ResidentLlamaWeights(backend, loaded.weights, { blocks: loaded.matrixBlocks }), { description: loaded.description });
    loaded.releaseFile();
    // Expected: the logits of the same upload before the release, bit for bit (nothing is read from the file after upload).
    expect(Array.from(await logitsAfterPrompt(runtime))).toEqual(Array.from(before));
    // What stays reachable from the weights is copied, not a view of the file's buffer (which could then not be collected).
    const vectors = [loaded.weights.finalNorm, ...loaded.weights.layers.flatMap((layer) => [layer.attentionNorm, layer.ffnNorm])];
    for (const vector of vectors) expect(vector.buffer).not.toBe(bytes.buffer);
    expect(() => loaded.weights.layers[0].wq).toThrow(/layer 0 wq was read after releaseFile\(\)/);
    expect(() => loaded.matrixBlocks).toThrow(/matrixBlocks was read after releaseFile\(\)/);
    expect(() => loaded.file).toThrow(/after releaseFile/);
    expect(() => loadGgufLlama(bytes).releaseFile()).toThrow(/needs loadGgufLlama\(…, \{ lazyMatrices: true \}\)/);
    backend.dispose();
  });
});

// K-quant rows are whole 256-blocks: dim 256, hidden 256.
const wide: LlamaConfig = { ...config, dim: 256, hiddenDim: 256, layers: 2, heads: 4, kvHeads: 2, headDim: 64 };
function wideWeights(): LlamaWeights {
  let seed = 11;
  const uniform = (length: number, scale: number) =>
    Float32Array.from({ length }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return (seed / 4294967296 - 0.5) * 2 * scale;
    });
  const { dim, hiddenDim } = wide;
  const kvDim = wide.kvHeads * wide.headDim;
  const tokenEmbedding = uniform(wide.vocabSize * dim, 0.5);
  const layers = Array.from({ length: wide.layers }, () => ({
    attentionNorm: new Float32Array(dim).fill(1),
    wq: uniform(dim * dim, 0.1),
    wk: uniform(kvDim * dim, 0.1),
    wv: uniform(kvDim * dim, 0.1),
    wo: uniform(dim * dim, 0.1),
    ffnNorm: new Float32Array(dim).fill(1),
    w1: uniform(hiddenDim * dim, 0.1),
    w2: uniform(dim * hiddenDim, 0.1),
    w3: uniform(hiddenDim * dim, 0.1),
  }));
  return { config: wide, tokenEmbedding, layers, finalNorm: new Float32Array(dim).fill(1), classifier: tokenEmbedding };
}

async function wideLogits(runtime: KernelLlamaRuntime): Promise<Float32Array> {
  const cache = new DenseKVCache({ layers: wide.layers, kvHeads: wide.kvHeads, headDim: wide.headDim, capacity: tokens.length });
  let logits: Float32Array = new Float32Array(0);
  for (const [position, token] of tokens.entries()) logits = await runtime.forward(token, position, cache);
  return logits;
}

/** Largest |a − b| and largest |b| over the logits. */
function worstAndScale(actual: Float32Array, expected: Float32Array): { worst: number; scale: number } {
  let worst = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
    scale = Math.max(scale, Math.abs(expected[i]));
  }
  return { worst, scale };
}

/** Resident bytes of every matrix (the tied classifier is the embedding's blocks, uploaded once for the classifier). */
function residentMatrixBytes(resident: ResidentLlamaWeights): number {
  const bytesOf = (array: DeviceArray) => array.length * { float32: 4, uint16: 2, uint8: 1 }[array.type];
  let bytes = bytesOf(resident.classifier);
  for (const layer of resident.layers) bytes += bytesOf(layer.queryKeyValue) + bytesOf(layer.output) + bytesOf(layer.gateUp) + bytesOf(layer.down);
  return bytes;
}

// llama.cpp's Q4_K_M mix (llama_tensor_get_type): Q4_K everywhere but attn_v and ffn_down of the
// "more bits" layers and the output (here the tied embedding), which are Q6_K.
const q4KMTypes = {
  "token_embd.weight": "Q6_K",
  "blk.0.attn_v.weight": "Q6_K",
  "blk.0.ffn_down.weight": "Q6_K",
} as const;

describe.each([
  { name: "ts", create: createTypeScriptBackend },
  { name: "wasm", create: createWasmBackend },
] satisfies { name: string; create: () => KernelBackend }[])("K-quant weights stay the file's blocks on the $name backend", ({ create }) => {
  it.each([
    { label: "Q4_K", tensorType: "Q4_K", tensorTypes: {} },
    { label: "Q6_K", tensorType: "Q6_K", tensorTypes: {} },
    { label: "Q4_K_M mix", tensorType: "Q4_K", tensorTypes: q4KMTypes },
  ] as const)("$label: resident weight bytes = the file's tensor bytes; logits within activation-quantization error of fp32", async ({ label, tensorType, tensorTypes }) => {
    const bytes = writeLlamaGguf(wideWeights(), tokenizer, { tensorType, tensorTypes });
    const backend = create();
    await backend.init();
    const lazy = loadGgufLlama(bytes, { lazyMatrices: true });
    const blocks = new ResidentLlamaWeights(backend, lazy.weights, { blocks: lazy.matrixBlocks });
    const plain = new ResidentLlamaWeights(backend, loadGgufLlama(bytes).weights);
    const { matrixBlocks } = lazy;
    let fileBytes = matrixBlocks.classifier.blocks.length;
    for (const layer of matrixBlocks.layers) fileBytes += [layer.wq, layer.wk, layer.wv, layer.wo, layer.w1, layer.w2, layer.w3].reduce((sum, tensor) => sum + tensor.blocks.length, 0);
    expect(residentMatrixBytes(blocks)).toBe(fileBytes);
    // The same count from the block sizes: Q4_K 144 and Q6_K 210 bytes per 256 weights (4.5 and
    // 6.56 bits), against 4 bytes per weight for the fp32 upload.
    const { dim, hiddenDim, vocabSize } = wide;
    const kvDim = wide.kvHeads * wide.headDim;
    const layerWeights = dim * (dim + 2 * kvDim) + dim * dim + 3 * hiddenDim * dim;
    const weightCount = vocabSize * dim + wide.layers * layerWeights;
    const q6Weights = label === "Q6_K" ? weightCount : label === "Q4_K_M mix" ? vocabSize * dim + kvDim * dim + dim * hiddenDim : 0;
    expect(residentMatrixBytes(blocks)).toBe(((weightCount - q6Weights) / 256) * 144 + (q6Weights / 256) * 210);
    expect(residentMatrixBytes(plain)).toBe(weightCount * 4);
    if (label === "Q4_K_M mix") {
      expect(residentMatrixFormat(blocks.layers[0].queryKeyValue)).toBe("mixed");
      expect(residentMatrixFormat(blocks.layers[0].down)).toBe("q6_k");
      expect(residentMatrixFormat(blocks.layers[1].queryKeyValue)).toBe("q4_k");
      expect(residentMatrixFormat(blocks.classifier)).toBe("q6_k");
    } else {
      expect(residentMatrixFormat(blocks.layers[0].queryKeyValue)).toBe(tensorType.toLowerCase());
    }
    const expected = await wideLogits(new KernelLlamaRuntime(plain));
    const actual = await wideLogits(new KernelLlamaRuntime(blocks));
    const { worst, scale } = worstAndScale(actual, expected);
    // Same weights on both sides (the fp32 side is the file dequantized); only the activations are
    // rounded to Q8_0 per 32 (≤ 0.4 % of a block's max per value), through 2 layers: the 5 % of the
    // logit range the Q8_0/Q4_0 files above are held to.
    expect(worst).toBeLessThanOrEqual(0.05 * scale);
    expect(worst).toBeGreaterThan(0);
    expect(scale).toBeGreaterThan(0.1);
    blocks.dispose();
    plain.dispose();
    backend.dispose();
  });
});

describe("blocks the backend cannot multiply are requantized to Q8_0", () => {
  it.each(["Q5_1", "Q5_K", "IQ4_NL"] as const)("%s: resident as Q8_0 (34 bytes per 32 weights, not fp32), logits near the fp32 dequantization", async (type) => {
    const bytes = writeLlamaGguf(wideWeights(), tokenizer, { tensorType: type });
    const backend = createWasmBackend();
    await backend.init();
    const lazy = loadGgufLlama(bytes, { lazyMatrices: true });
    const blocks = new ResidentLlamaWeights(backend, lazy.weights, { blocks: lazy.matrixBlocks });
    const plain = new ResidentLlamaWeights(backend, loadGgufLlama(bytes).weights);
    expect(residentMatrixFormat(blocks.layers[0].gateUp)).toBe("q8_0");
    expect(blocks.layers[0].gateUp.length).toBe(2 * wide.hiddenDim * wide.dim * (34 / 32));
    const expected = await wideLogits(new KernelLlamaRuntime(plain));
    const actual = await wideLogits(new KernelLlamaRuntime(blocks));
    const { worst, scale } = worstAndScale(actual, expected);
    // Q8_0 weights (≤ 0.57 step each) and Q8_0 activations (≤ 0.4 % of a block's max) through 2
    // layers: the same 5 % of the logit range as the Q8_0 files above.
    expect(worst).toBeLessThanOrEqual(0.05 * scale);
    expect(worst).toBeGreaterThan(0);
    blocks.dispose();
    plain.dispose();
    backend.dispose();
  });

  it("an F32 or BF16 file stays fp32 (never rounded to 8 bits)", async () => {
    const backend = createTypeScriptBackend();
    await backend.init();
    for (const type of ["F32", "BF16"] as const) {
      const lazy = loadGgufLlama(writeLlamaGguf(wideWeights(), tokenizer, { tensorType: type }), { lazyMatrices: true });
      const resident = new ResidentLlamaWeights(backend, lazy.weights, { blocks: lazy.matrixBlocks });
      expect(residentMatrixFormat(resident.layers[0].gateUp)).toBe("f32");
      resident.dispose();
    }
    backend.dispose();
  });
});
