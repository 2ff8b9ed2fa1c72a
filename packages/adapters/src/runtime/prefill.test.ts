import { CompressedKVCache, DenseKVCache, type KVCache } from "@kvpack/cache";
import { createTypeScriptBackend, createWasmBackend, type KernelBackend } from "@kvpack/kernels";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGgufLlama } from "../gguf/load-gguf-llama.js";
import { writeLlamaGguf } from "../gguf/write-llama-gguf.js";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { readModelsData, readModelsDataJson, type ModelReference } from "../model/test-models-data.js";
import { KernelLlamaRuntime, ResidentLlamaWeights } from "./kernel-llama-runtime.js";
import { LlamaRuntime } from "./llama-runtime.js";
import { residentMatrixFormat } from "./resident-matrix.js";
import { maxAbsoluteDifference } from "./test-prompt-logits.js";

/**
 * Batched prefill against token-by-token forward on stories260K (dim 64, 5 layers, 8 / 4 heads,
 * hidden 172, so both dot paths of the wasm kernels run: 64 is a multiple of 16, 172 is not).
 * The prompt is the 65 reference greedy ids, so chunks of 7 and 64 leave a partial last chunk.
 *
 * Expected differences are exactly 0: on every backend here each matmulBatch row is summed in the
 * same order as matmul (checked by the kernels' conformance suite), RMSNorm / RoPE / SwiGLU run per
 * row with the same kernel, and within a layer the tokens are appended and attended in order, so the
 * cache sees the same keys and values and each query the same cached tokens.
 */
const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const shape = { layers: weights.config.layers, kvHeads: weights.config.kvHeads, headDim: weights.config.headDim };
const tokens = reference.greedy_token_ids;

function layerContents(cache: KVCache): Float32Array[] {
  const length = cache.length(0);
  return Array.from({ length: shape.layers }, (_, layer) => {
    const keys = new Float32Array(shape.kvHeads * length * shape.headDim);
    const values = new Float32Array(keys.length);
    cache.readLayer(layer, keys, values);
    return Float32Array.of(...keys, ...values);
  });
}

const turboquant = () => {
  const spec = { kind: "turboquant" as const, dimension: shape.headDim, bits: 4 };
  return new CompressedKVCache({ ...shape, keys: spec, values: spec });
};

describe("LlamaRuntime.prefill", () => {
  const runtime = new LlamaRuntime(weights);
  const tokenByToken = new DenseKVCache({ ...shape, capacity: tokens.length });
  let expected: Float32Array = new Float32Array(0);
  for (const [position, token] of tokens.entries()) expected = runtime.forward(token, position, tokenByToken).slice();

  for (const chunkSize of [1, 7, 64, 100]) {
    it(`gives bit-identical last logits and cache contents in chunks of ${chunkSize}`, () => {
      const cache = new DenseKVCache({ ...shape, capacity: tokens.length });
      const logits = runtime.prefill(tokens, 0, cache, { chunkSize });
      expect(Array.from(logits)).toEqual(Array.from(expected));
      expect(cache.length(0)).toBe(tokens.length);
      expect(layerContents(cache)).toEqual(layerContents(tokenByToken));
    });
  }

  it("continues a cache from a start position (prompt split in two)", () => {
    const cache = new DenseKVCache({ ...shape, capacity: tokens.length });
    runtime.prefill(tokens.slice(0, 20), 0, cache);
    expect(Array.from(runtime.prefill(tokens.slice(20), 20, cache))).toEqual(Array.from(expected));
  });

  it("matches token by token over a 4-bit TurboQuant cache (no policy: the cache only sees the same appends per layer)", () => {
    const forwardCache = turboquant();
    let last: Float32Array = new Float32Array(0);
    for (const [position, token] of tokens.entries()) last = runtime.forward(token, position, forwardCache).slice();
    expect(Array.from(runtime.prefill(tokens, 0, turboquant(), { chunkSize: 16 }))).toEqual(Array.from(last));
  });

  it("reproduces the reference last-position prompt logits", () => {
    const logits = runtime.prefill(reference.prompt_token_ids, 0, new DenseKVCache({ ...shape, capacity: 8 }));
    // Same bound as the token-by-token LlamaRuntime test: fp32 runtime vs the float64 reference.
    expect(maxAbsoluteDifference(logits, reference.last_position_logits_for_prompt)).toBeLessThan(1e-4);
  });

  it("rejects an empty prompt, a bad chunk size and a bad token before appending anything", () => {
    const cache = new DenseKVCache({ ...shape, capacity: 8 });
    expect(() => runtime.prefill([], 0, cache)).toThrowError("prefill: no tokens");
    expect(() => runtime.prefill([1, 2], 0, cache, { chunkSize: 0 })).toThrowError(/chunkSize must be a positive integer, got 0/);
    expect(() => runtime.prefill([1, 2, 512], 0, cache)).toThrowError("forward: token 512 is outside the vocabulary [0, 512)");
    expect(cache.length(0)).toBe(0);
  });
});

for (const create of [createTypeScriptBackend, createWasmBackend]) {
  describe(`KernelLlamaRuntime.prefill on the ${create().name} backend`, () => {
    let backend: KernelBackend;
    let resident: ResidentLlamaWeights;
    beforeAll(async () => {
      backend = create();
      await backend.init();
      resident = new ResidentLlamaWeights(backend, weights);
    });
    afterAll(() => {
      resident.dispose();
      backend.dispose();
    });

    for (const vectorKernels of ["backend", "host"] as const) {
      it(`gives bit-identical last logits to forward per token (${vectorKernels} vector kernels, chunks of 1, 7 and 64)`, async () => {
        const runtime = new KernelLlamaRuntime(resident, { vectorKernels });
        const tokenByToken = new DenseKVCache({ ...shape, capacity: tokens.length });
        let expected: Float32Array = new Float32Array(0);
        for (const [position, token] of tokens.entries()) expected = await runtime.forward(token, position, tokenByToken);
        for (const chunkSize of [1, 7, 64]) {
          const cache = new DenseKVCache({ ...shape, capacity: tokens.length });
          expect(Array.from(await runtime.prefill(tokens, 0, cache, { chunkSize }))).toEqual(Array.from(expected));
          expect(layerContents(cache)).toEqual(layerContents(tokenByToken));
        }
      });
    }
  });
}

/**
 * The same on weights kept as GGUF blocks (stories260K written by writeLlamaGguf): a chunk goes through
 * quantizedMatmulBatch, whose rows equal quantizedMatmul per vector on the same backend (kernels'
 * conformance suite), so prefill's last logits and cache equal forward per token exactly. Q4_K_M-like
 * "mixed" is not covered here: stories260K's rows (64, 172) are not whole 256-blocks.
 */
describe.each(["Q8_0", "Q4_0", "Q5_0"] as const)("KernelLlamaRuntime.prefill with %s file blocks", (tensorType) => {
  for (const create of [createTypeScriptBackend, createWasmBackend]) {
    it(`${create().name}: bit-identical last logits and cache to forward per token (chunks of 7 and 64)`, async () => {
      const backend = create();
      await backend.init();
      const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
      const loaded = loadGgufLlama(writeLlamaGguf(weights, tokenizer, { tensorType }), { lazyMatrices: true });
      const resident = new ResidentLlamaWeights(backend, loaded.weights, { blocks: loaded.matrixBlocks });
      try {
        expect(residentMatrixFormat(resident.layers[0].queryKeyValue)).toBe(tensorType.toLowerCase());
        const runtime = new KernelLlamaRuntime(resident);
        const tokenByToken = new DenseKVCache({ ...shape, capacity: tokens.length });
        let expected: Float32Array = new Float32Array(0);
        for (const [position, token] of tokens.entries()) expected = await runtime.forward(token, position, tokenByToken);
        for (const chunkSize of [7, 64]) {
          const cache = new DenseKVCache({ ...shape, capacity: tokens.length });
          expect(Array.from(await runtime.prefill(tokens, 0, cache, { chunkSize }))).toEqual(Array.from(expected));
          expect(layerContents(cache)).toEqual(layerContents(tokenByToken));
        }
      } finally {
        resident.dispose();
        backend.dispose();
      }
    });
  }
});
