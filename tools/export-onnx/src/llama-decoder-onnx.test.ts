import { createOnnxDecoder, LlamaRuntime, loadLlama2cCheckpoint, loadOnnxRuntimeNode, OnnxDecoder, OnnxDecoderError, type LlamaWeights } from "@kvpack/adapters";
import { CompressedKVCache, DenseKVCache } from "@kvpack/cache";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLlamaDecoderModel, exportLlamaDecoderOnnx } from "./llama-decoder-graph.js";
import { encodeModel } from "./onnx-proto.js";
import { maxAbsDifference, readModelReference, readModelsData, type ModelReference } from "./test-support/models-data.js";

// stories260K (llama2.c): 5 layers, 8 heads, 4 KV heads × 8, vocabulary 512, context 512.
// Oracles: stories260K.reference.json (an independent float64 re-implementation of run.c; logits
// stored to 5 decimals) and @kvpack/adapters' LlamaRuntime (fp32, run.c semantics).
// Tolerance 1e-4 on logits (|logits| ≤ ~15): fp32 rounding across 5 layers plus the JSON's 5e-6 rounding.
const LOGIT_TOLERANCE = 1e-4;

/** A cache that rounds every stored value to a grid of `step`: stands in for a lossy codec. */
class RoundingKVCache extends DenseKVCache {
  readonly step: number;
  readLayerCalls = 0;

  constructor(shape: ConstructorParameters<typeof DenseKVCache>[0], step: number) {
    super(shape);
    this.step = step;
  }

  override append(layer: number, keys: Float32Array, values: Float32Array): void {
    const round = (array: Float32Array) => (this.step === 0 ? array : array.map((value) => Math.round(value / this.step) * this.step));
    super.append(layer, round(keys), round(values));
  }

  override readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void {
    this.readLayerCalls++;
    super.readLayer(layer, keysOut, valuesOut);
  }
}

describe("stories260K exported to ONNX, run through the ORT adapter (onnxruntime-node)", () => {
  let weights: LlamaWeights;
  let reference: ModelReference;
  let modelBytes: Uint8Array;
  let decoder: OnnxDecoder;
  const newCache = () => new DenseKVCache({ layers: 5, kvHeads: 4, headDim: 8, capacity: 512 });

  /** Reference runtime logits for each token of `ids`, decoded one at a time from position 0. */
  function runtimeLogits(ids: readonly number[]): { logits: Float32Array[]; cache: DenseKVCache } {
    const runtime = new LlamaRuntime(weights);
    const cache = newCache();
    const logits = ids.map((id, position) => runtime.forward(id, position, cache).slice());
    return { logits, cache };
  }

  beforeAll(async () => {
    weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
    reference = readModelReference("stories260K.reference.json");
    modelBytes = exportLlamaDecoderOnnx(weights, { modelName: "stories260K" });
    decoder = await createOnnxDecoder({ ort: await loadOnnxRuntimeNode(), model: modelBytes });
  });

  afterAll(async () => {
    await decoder?.release();
  });

  it("derives the cache shape from the model's inputs", () => {
    expect({ layers: decoder.layers, kvHeads: decoder.kvHeads, headDim: decoder.headDim, vocabSize: decoder.vocabSize }).toEqual({ layers: 5, kvHeads: 4, headDim: 8, vocabSize: 512 });
    expect(decoder.signature.hasPositionIds).toBe(true);
  });

  it("prefill of the prompt matches the reference JSON's last-position logits and the runtime at every position", async () => {
    const prompt = reference.prompt_token_ids;
    const cache = newCache();
    const logits = await decoder.forward(prompt, cache);
    expect(logits.length).toBe(prompt.length * 512);
    expect(cache.length()).toBe(prompt.length);
    const last = logits.subarray((prompt.length - 1) * 512);
    expect(maxAbsDifference(last, reference.last_position_logits_for_prompt)).toBeLessThan(LOGIT_TOLERANCE);
    const { logits: expected } = runtimeLogits(prompt);
    prompt.forEach((_, position) => {
      expect(maxAbsDifference(logits.subarray(position * 512, (position + 1) * 512), expected[position])).toBeLessThan(LOGIT_TOLERANCE);
    });
  });

  it("present K/V appended to the cache equal the runtime's RoPE-rotated keys and values (llama2.c pair layout)", async () => {
    const prompt = reference.prompt_token_ids;
    const cache = newCache();
    await decoder.forward(prompt, cache);
    const { cache: runtimeCache } = runtimeLogits(prompt);
    const size = 4 * prompt.length * 8;
    for (let layer = 0; layer < 5; layer++) {
      const [keys, values, expectedKeys, expectedValues] = [0, 1, 2, 3].map(() => new Float32Array(size));
      cache.readLayer(layer, keys, values);
      runtimeCache.readLayer(layer, expectedKeys, expectedValues);
      // Same fp32 arithmetic up to summation order: 1e-5 on activations of magnitude ≲ 5.
      expect(maxAbsDifference(keys, expectedKeys)).toBeLessThan(1e-5);
      expect(maxAbsDifference(values, expectedValues)).toBeLessThan(1e-5);
    }
  });

  it("single-token decode steps with past match the runtime at each step", async () => {
    // Feed the reference greedy continuation one token at a time after a prompt prefill.
    const sequence = reference.greedy_token_ids.slice(0, reference.prompt_token_ids.length + 8);
    const { logits: expected } = runtimeLogits(sequence);
    const cache = newCache();
    const promptLength = reference.prompt_token_ids.length;
    await decoder.forward(sequence.slice(0, promptLength), cache);
    for (let position = promptLength; position < sequence.length; position++) {
      const logits = await decoder.forward([sequence[position]], cache);
      expect(logits.length).toBe(512);
      expect(cache.length()).toBe(position + 1);
      expect(maxAbsDifference(logits, expected[position])).toBeLessThan(LOGIT_TOLERANCE);
    }
  });

  it("prefill in chunks (past > 0 and several new tokens) equals one prefill", async () => {
    const sequence = reference.greedy_token_ids.slice(0, 12);
    const whole = await decoder.forward(sequence, newCache());
    const cache = newCache();
    const first = await decoder.forward(sequence.slice(0, 5), cache);
    const second = await decoder.forward(sequence.slice(5), cache);
    // The causal mask must let chunk-two queries see all of chunk one but not later chunk-two tokens.
    expect(maxAbsDifference(first, whole.subarray(0, 5 * 512))).toBeLessThan(1e-5);
    expect(maxAbsDifference(second, whole.subarray(5 * 512))).toBeLessThan(1e-5);
  });

  it("greedy decoding with a DenseKVCache reproduces the reference greedy_token_ids", async () => {
    const cache = newCache();
    // run.c: `steps` positions, so steps + 1 ids including BOS; it stops early on BOS (id 1).
    const ids = await decoder.generateGreedy(reference.prompt_token_ids, reference.steps + 1, cache, { stopTokenIds: [1] });
    expect(ids).toEqual(reference.greedy_token_ids);
    expect(cache.length()).toBe(reference.greedy_token_ids.length - 1);
  });

  it("what the model attends to comes from cache.readLayer, so a lossy cache changes the logits", async () => {
    const prompt = reference.prompt_token_ids;
    const next = reference.greedy_token_ids[prompt.length];
    const shape = { layers: 5, kvHeads: 4, headDim: 8, capacity: 64 };
    const dense = newCache();
    await decoder.forward(prompt, dense);
    const exact = await decoder.forward([next], dense);

    const lossless = new RoundingKVCache(shape, 0);
    await decoder.forward(prompt, lossless);
    expect(Array.from(await decoder.forward([next], lossless))).toEqual(Array.from(exact));
    // One readLayer per layer for the decode step (the prefill had nothing cached to read).
    expect(lossless.readLayerCalls).toBe(5);

    const coarse = new RoundingKVCache(shape, 0.25);
    await decoder.forward(prompt, coarse);
    const perturbed = await decoder.forward([next], coarse);
    // Rounding K/V to a 0.25 grid moves the logits far more than fp32 noise (observed 0.64).
    expect(maxAbsDifference(perturbed, exact)).toBeGreaterThan(1e-2);
  });

  it("decodes through kvpack's CompressedKVCache (int8 pages): past comes back decoded, greedy ids hold", async () => {
    const options = { layers: 5, kvHeads: 4, headDim: 8, keys: { kind: "int8", dimension: 8 }, values: { kind: "int8", dimension: 8 }, pageSize: 8, residualWindow: 8 } as const;
    const compressed = new CompressedKVCache(options);
    const ids = await decoder.generateGreedy(reference.prompt_token_ids, reference.steps + 1, compressed, { stopTokenIds: [1] });
    // Observed: int8 K/V move the logits by at most ≈ 0.45 over the 60 steps, never enough to flip
    // a greedy choice on this prompt, so the reference ids must come out unchanged.
    expect(ids).toEqual(reference.greedy_token_ids);
    const dense = newCache();
    await decoder.generateGreedy(reference.prompt_token_ids, reference.steps + 1, dense, { stopTokenIds: [1] });
    expect(compressed.length()).toBe(dense.length());
    expect(compressed.byteLength()).toBeLessThan(dense.byteLength());
    // The next step's logits differ from the dense run's: the model attended to int8 reconstructions.
    const next = [reference.greedy_token_ids[reference.greedy_token_ids.length - 1]];
    const difference = maxAbsDifference(await decoder.forward(next, compressed), await decoder.forward(next, dense));
    expect(difference).toBeGreaterThan(1e-4);
    expect(difference).toBeLessThan(1);
  });

  it("feeds use_cache_branch to Optimum-style merged decoders (ORT requires every declared input)", async () => {
    const model = buildLlamaDecoderModel(weights);
    const merged = encodeModel({ ...model, graph: { ...model.graph, inputs: [...model.graph.inputs, { name: "use_cache_branch", elementType: "bool", shape: [1] }] } });
    const mergedDecoder = await createOnnxDecoder({ ort: await loadOnnxRuntimeNode(), model: merged });
    try {
      expect(mergedDecoder.signature.hasUseCacheBranch).toBe(true);
      const cache = newCache();
      const prefill = await mergedDecoder.forward(reference.prompt_token_ids, cache);
      const last = prefill.subarray((reference.prompt_token_ids.length - 1) * 512);
      expect(maxAbsDifference(last, reference.last_position_logits_for_prompt)).toBeLessThan(LOGIT_TOLERANCE);
      expect((await mergedDecoder.forward([reference.greedy_token_ids[5]], cache)).length).toBe(512);
    } finally {
      await mergedDecoder.release();
    }
  });

  it("rejects a cache of the wrong shape and out-of-range token ids with OnnxDecoderError", async () => {
    const wrongShape = new DenseKVCache({ layers: 5, kvHeads: 2, headDim: 16, capacity: 8 });
    await expect(decoder.forward([1], wrongShape)).rejects.toThrow(/cache is 5 layers × 2 KV heads × 16, the model needs 5 × 4 × 8/);
    const error = await decoder.forward([1, 512], newCache()).catch((reason: unknown) => reason);
    expect(OnnxDecoderError.isInstance(error) && error.code).toBe("bad-argument");
    await expect(decoder.forward([], newCache())).rejects.toThrow(/at least one token/);
  });
});
