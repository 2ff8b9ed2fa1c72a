import { CompressedKVCache, DenseKVCache } from "@kvpack/cache";
import { createTypeScriptBackend, createWasmBackend, type KernelBackend } from "@kvpack/kernels";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { argmax } from "../generation/sampler.js";
import { loadGgufLlama } from "../gguf/load-gguf-llama.js";
import { chainNext, randomArchitectureModel } from "../gguf/test-architecture-models.js";
import { writeLlamaGguf } from "../gguf/write-llama-gguf.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { describeLlamaModel, type LlamaArchitecture, llamaArchitectures, type LlamaModelDescription } from "../model/llama-model-description.js";
import type { LlamaLayerWeights } from "../model/llama-weights.js";
import { readModelsData } from "../model/test-models-data.js";
import { createDenseCache } from "./create-dense-cache.js";
import { KernelLlamaRuntime, ResidentLlamaWeights } from "./kernel-llama-runtime.js";
import { LlamaRuntime } from "./llama-runtime.js";

// The one forward loop on each architecture's switches (test-architecture-models.ts): both LlamaOps
// implementations agree, the Gemma 2 model decodes its built-in chain, and every switch changes the
// log-probabilities by more than the llama.cpp oracle's tolerance (so llama-cpp-conformance.test.ts
// would catch a switch left out).
const prompt = [1, 100, 200, 300];
const decodeSteps = 24;
const models = new Map(llamaArchitectures.map((architecture) => [architecture, randomArchitectureModel(architecture, 512)]));

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const value of logits) max = Math.max(max, value);
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const offset = max + Math.log(sum);
  return Float64Array.from(logits, (value) => value - offset);
}

/** Log-probs after the prompt and after each of `decodeSteps` teacher-forced chain tokens (the same inputs for every variant compared). */
function hostLogProbabilities(description: LlamaModelDescription): Float64Array[] {
  const runtime = new LlamaRuntime(description);
  const cache = createDenseCache(runtime, 64);
  const out = [logSoftmax(runtime.prefill(prompt, 0, cache))];
  for (let step = 0; step < decodeSteps; step++) out.push(logSoftmax(runtime.forward(chainNext(step, 512), prompt.length + step, cache)));
  return out;
}

function maxDifference(a: readonly Float64Array[], b: readonly Float64Array[]): number {
  let worst = 0;
  a.forEach((row, step) => row.forEach((value, i) => (worst = Math.max(worst, Math.abs(value - b[step][i])))));
  return worst;
}

const withLayers = (description: LlamaModelDescription, edit: (layer: LlamaLayerWeights) => LlamaLayerWeights): LlamaModelDescription => ({
  ...description,
  weights: { ...description.weights, layers: description.weights.layers.map(edit) },
});

describe("the forward loop on each architecture", () => {
  it("gemma2: greedy decoding follows the chain built into its lookup FFN (window, soft caps and sandwich norms on)", () => {
    const runtime = new LlamaRuntime(models.get("gemma2")!);
    const cache = createDenseCache(runtime, 80);
    let token = argmax(runtime.prefill(prompt, 0, cache));
    expect(token).toBe(chainNext(300, 512));
    // 40 steps: past the 16-token window of layer 0.
    for (let position = prompt.length; position < prompt.length + 40; position++) {
      const next = argmax(runtime.forward(token, position, cache));
      expect(next).toBe(chainNext(token, 512));
      token = next;
    }
  });

  // The oracle's F32 tolerance is 150 · 2^-11 = 0.073 of a log-prob: each switch must move log-probs by more.
  const oracleTolerance = 150 * 2 ** -11;
  const gemma = models.get("gemma2")!;
  const switches: [LlamaArchitecture, string, (description: LlamaModelDescription) => LlamaModelDescription][] = [
    ["gemma2", "sliding window", (d) => describeLlamaModel(d.weights, { ...d, layerAttention: d.layerAttention.map(() => ({ kind: "full" as const })) })],
    ["gemma2", "attention soft cap", (d) => ({ ...d, attentionLogitSoftCap: undefined })],
    ["gemma2", "final soft cap", (d) => ({ ...d, finalLogitSoftCap: undefined })],
    ["gemma2", "embedding scale", (d) => ({ ...d, embeddingScale: 1 })],
    ["gemma2", "GELU (vs SiLU)", (d) => ({ ...d, activation: "silu" })],
    ["gemma2", "post-attention norm", (d) => withLayers(d, ({ postAttentionNorm: _, ...layer }) => layer)],
    ["gemma2", "post-FFN norm", (d) => withLayers(d, ({ postFfnNorm: _, ...layer }) => layer)],
    ["gemma2", "attention scale", (d) => ({ ...d, attentionScale: 1 / Math.sqrt(d.config.dim / d.config.heads) })],
    ["qwen2", "q/k/v biases", (d) => withLayers(d, ({ bq: _q, bk: _k, bv: _v, ...layer }) => layer)],
    ["qwen3", "q/k norms", (d) => withLayers(d, ({ queryNorm: _q, keyNorm: _k, ...layer }) => layer)],
    ["qwen3", "NeoX RoPE (vs interleaved)", (d) => ({ ...d, rope: { ...d.rope, style: "interleaved" } })],
    ["llama", "llama3 RoPE scaling", (d) => ({ ...d, rope: { style: d.rope.style, freqBase: d.rope.freqBase } })],
  ];
  it.each(switches)("%s: leaving out the %s moves the log-probs by more than the oracle's tolerance", (architecture, _name, without) => {
    const description = architecture === "gemma2" ? gemma : models.get(architecture)!;
    expect(maxDifference(hostLogProbabilities(description), hostLogProbabilities(without(description)))).toBeGreaterThan(oracleTolerance);
  });

  it("gemma2 refuses a cache without its windows, and runs on a CompressedKVCache (fp32 codec) with DenseKVCache's logits bit for bit", () => {
    const runtime = new LlamaRuntime(gemma);
    expect(runtime.cacheShape.layerWindows).toEqual([16, undefined]);
    expect(() => runtime.forward(1, 0, new DenseKVCache({ layers: 2, kvHeads: 1, headDim: 256, capacity: 8 }))).toThrow(/layer 0 of the model attends a sliding window of 16/);
    const codec = { kind: "fp32", dimension: 256 } as const;
    const compressed = new CompressedKVCache({ ...runtime.cacheShape, keys: codec, values: codec });
    const dense = createDenseCache(runtime, 64);
    const run = (cache: DenseKVCache | CompressedKVCache) => {
      const logits = [runtime.prefill(prompt, 0, cache).slice()];
      for (let step = 0; step < 30; step++) logits.push(runtime.forward(chainNext(step, 512), prompt.length + step, cache).slice());
      return logits;
    };
    // 34 positions: past layer 0's window, so pages leave it (dropped, then freed).
    expect(run(compressed)).toEqual(run(dense));
  });
});

const backends: { name: string; create: () => KernelBackend; tolerance: number; why: string }[] = [
  // ts kernels sum in float64 like the host ops: only float32 rounding of intermediate vectors differs.
  { name: "ts", create: createTypeScriptBackend, tolerance: 2e-4, why: "float64 sums on both sides" },
  // wasm sums in float32 over 256–512 products per output: ~1e-6 relative per matmul, through 2 layers and logits up to ~30.
  { name: "wasm", create: createWasmBackend, tolerance: 5e-3, why: "float32 SIMD sums" },
];

for (const { name, create, tolerance, why } of backends) {
  describe(`KernelLlamaRuntime on the ${name} backend equals LlamaRuntime on every architecture (${why})`, () => {
    let backend: KernelBackend;
    beforeAll(async () => {
      backend = create();
      await backend.init();
    });
    afterAll(() => backend.dispose());

    it.each(llamaArchitectures)("%s", async (architecture) => {
      const description = models.get(architecture)!;
      const resident = new ResidentLlamaWeights(backend, description.weights);
      try {
        const expected = hostLogProbabilities(description);
        for (const vectorKernels of ["backend", "host"] as const) {
          const runtime = new KernelLlamaRuntime(resident, { description, vectorKernels });
          const cache = new DenseKVCache({ ...runtime.cacheShape, capacity: 64 });
          const actual = [logSoftmax(await runtime.prefill(prompt, 0, cache))];
          for (let step = 0; step < decodeSteps; step++) actual.push(logSoftmax(await runtime.forward(chainNext(step, 512), prompt.length + step, cache)));
          expect(maxDifference(actual, expected)).toBeLessThan(tolerance);
        }
      } finally {
        resident.dispose();
      }
    });
  });
}

describe("Phi-3's fused tensors on a kernel backend", () => {
  it("attn_qkv and the gate+up ffn_up split into row views of the file's blocks, resident as those blocks, near the host runtime", async () => {
    const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
    const bytes = writeLlamaGguf(models.get("phi3")!, tokenizer, { tensorType: "Q8_0" });
    const loaded = loadGgufLlama(bytes, { lazyMatrices: true });
    const eager = loadGgufLlama(bytes);
    // The views are the fused tensors' bytes, q | k | v and gate | up in order, and dequantize to the host's split matrices exactly.
    const blocks = loaded.matrixBlocks.layers[1];
    const concatenated = (parts: readonly Uint8Array[]) => Uint8Array.from(parts.flatMap((part) => Array.from(part)));
    expect(concatenated([blocks.wq.blocks, blocks.wk.blocks, blocks.wv.blocks])).toEqual(loaded.file.quantized("blk.1.attn_qkv.weight").blocks);
    expect(concatenated([blocks.w1.blocks, blocks.w3.blocks])).toEqual(loaded.file.quantized("blk.1.ffn_up.weight").blocks);
    for (const name of ["wq", "wk", "wv", "w1", "w3"] as const) expect(blocks[name].dequantize()).toEqual(eager.weights.layers[1][name]);
    expect(blocks.wk.shape).toEqual([256, 256]);
    const backend = createTypeScriptBackend();
    await backend.init();
    const resident = new ResidentLlamaWeights(backend, loaded.weights, { blocks: loaded.matrixBlocks });
    try {
      const runtime = new KernelLlamaRuntime(resident, { description: loaded.description });
      const cache = new DenseKVCache({ ...runtime.cacheShape, capacity: 8 });
      const kernel = logSoftmax(await runtime.prefill(prompt, 0, cache));
      const host = logSoftmax(new LlamaRuntime(eager.description).prefill(prompt, 0, new DenseKVCache({ ...runtime.cacheShape, capacity: 8 })));
      // The backend's Q8_0 kernel rounds the activations to Q8_0 as llama.cpp does: within the oracle's Q8_0 tolerance, 150 · 2.5/254.
      const difference = maxDifference([kernel], [host]);
      expect(difference).toBeLessThan((150 * 2.5) / 254);
      expect(difference).toBeGreaterThan(0);
    } finally {
      resident.dispose();
      backend.dispose();
    }
  });
});
