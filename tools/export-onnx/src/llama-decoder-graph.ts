import { describeLlamaModel, numberToFloat16Bits, ropeFrequencies, type LlamaConfig, type LlamaModelDescription, type LlamaWeights, type RopeDescription } from "@kvpack/adapters";
import { GraphBuilder } from "./graph-builder.js";
import { quantizeDequantizeLinear, type Int8WeightType } from "./dequantize-linear-weight.js";
import { quantizeMatMulNBits } from "./matmul-nbits.js";
import { encodeModel, type OnnxElementType, type OnnxModel, type OnnxValueInfo } from "./onnx-proto.js";

/**
 * Builds a Llama decoder-with-past ONNX graph in the Hugging Face Optimum layout from
 * `LlamaWeights` (llama2.c layout), using only standard opset-17 operators:
 *
 *   inputs  input_ids [batch, seq] int64, attention_mask [batch, past+seq] int64,
 *           position_ids [batch, seq] int64,
 *           past_key_values.N.key / .value [batch, kvHeads, past, headDim] float32
 *   outputs logits [batch, seq, vocab] float32,
 *           present.N.key / .value [batch, kvHeads, past+seq, headDim] float32
 *
 * RoPE rotates adjacent pairs (x[2i], x[2i+1]) by position·θ^(−2i/headDim), as llama2.c's
 * run.c does, so present keys hold exactly what the llama2.c runtime caches.
 */
export const LLAMA_DECODER_OPSET = 17;
/** ONNX IR version 8 is the one released with opset 17. */
export const LLAMA_DECODER_IR_VERSION = 8;

/** Added to attention scores of masked positions: large enough that exp() underflows to 0, finite so a fully masked row stays finite. */
const MASKED_SCORE = -1e9;

export interface LlamaDecoderExportOptions {
  /** Stored in the model's metadata_props. */
  readonly modelName?: string;
  /** RoPE table length; defaults to config.maxSequenceLength. */
  readonly maxPositions?: number;
  /**
   * "fp16" stores the weights as float16 and makes past_key_values / present / logits float16 (a
   * transformers.js `model_fp16.onnx`); the arithmetic stays float32 (Cast after each weight and at
   * the boundaries). Default "fp32".
   */
  readonly precision?: "fp32" | "fp16";
  /** Every projection (and an untied classifier) as ORT's MatMulNBits with 4- or 8-bit block weights (transformers.js `model_q4.onnx`); absent = float MatMul. */
  readonly weightBits?: 4 | 8;
  /**
   * Every projection (and an untied classifier) as an 8-bit per-output-channel INT8 ("int8",
   * symmetric) or UINT8 ("uint8", zero points) initializer → DequantizeLinear → MatMul, the weight
   * form of onnxruntime's QDQ quantizers (transformers.js `model_quantized.onnx` / `model_int8.onnx` /
   * `model_uint8.onnx`). Exclusive with weightBits.
   */
  readonly weightType?: Int8WeightType;
  /** MatMulNBits block size along the input features; default 32. */
  readonly blockSize?: number;
  /** Add transformers.js' scalar int64 `num_logits_to_keep` input: k > 0 returns the last k positions' logits, 0 all. */
  readonly numLogitsToKeep?: boolean;
  /** The rotation, pair-interleaved (llama2.c layout weights) with optional llama3 / linear scaling; default θ = config.ropeTheta. */
  readonly rope?: RopeDescription;
}

function transpose(matrix: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) out[column * rows + row] = matrix[row * columns + column];
  }
  return out;
}

/** cos/sin of position·freq for every position and pair, computed in float64 then rounded once. */
function ropeTables(config: LlamaConfig, positions: number, rope: RopeDescription | undefined): { cos: Float32Array; sin: Float32Array } {
  const pairs = config.headDim / 2;
  const cos = new Float32Array(positions * pairs);
  const sin = new Float32Array(positions * pairs);
  // With a rope description, its float32 frequencies (the runtimes'); else float64 ones.
  const scaled = rope === undefined ? undefined : ropeFrequencies(config.headDim, rope);
  for (let pair = 0; pair < pairs; pair++) {
    const frequency = scaled?.[pair] ?? 1 / Math.pow(config.ropeTheta, (2 * pair) / config.headDim);
    for (let position = 0; position < positions; position++) {
      const angle = position * frequency;
      cos[position * pairs + pair] = Math.cos(angle);
      sin[position * pairs + pair] = Math.sin(angle);
    }
  }
  return { cos, sin };
}

function validateWeights(weights: LlamaWeights): void {
  const { config } = weights;
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize } = config;
  if (headDim % 2 !== 0) throw new RangeError(`exportLlamaDecoder: headDim must be even for RoPE pairs, got ${headDim}`);
  if (heads % kvHeads !== 0) throw new RangeError(`exportLlamaDecoder: heads (${heads}) must be a multiple of kvHeads (${kvHeads})`);
  if (weights.layers.length !== config.layers) {
    throw new RangeError(`exportLlamaDecoder: config says ${config.layers} layers, weights have ${weights.layers.length}`);
  }
  const expect = (name: string, array: Float32Array, length: number) => {
    if (array.length !== length) throw new RangeError(`exportLlamaDecoder: ${name} needs ${length} floats, got ${array.length}`);
  };
  expect("tokenEmbedding", weights.tokenEmbedding, vocabSize * dim);
  expect("classifier", weights.classifier, vocabSize * dim);
  expect("finalNorm", weights.finalNorm, dim);
  weights.layers.forEach((layer, index) => {
    expect(`layers[${index}].attentionNorm`, layer.attentionNorm, dim);
    expect(`layers[${index}].wq`, layer.wq, heads * headDim * dim);
    expect(`layers[${index}].wk`, layer.wk, kvHeads * headDim * dim);
    expect(`layers[${index}].wv`, layer.wv, kvHeads * headDim * dim);
    expect(`layers[${index}].wo`, layer.wo, dim * heads * headDim);
    expect(`layers[${index}].ffnNorm`, layer.ffnNorm, dim);
    expect(`layers[${index}].w1`, layer.w1, hiddenDim * dim);
    expect(`layers[${index}].w2`, layer.w2, dim * hiddenDim);
    expect(`layers[${index}].w3`, layer.w3, hiddenDim * dim);
  });
}

/** The decoder-with-past graph as an `OnnxModel` value (encode it with `encodeModel`). */
export function buildLlamaDecoderModel(model: LlamaWeights | LlamaModelDescription, options: LlamaDecoderExportOptions = {}): OnnxModel {
  // Bare weights: llama2.c's rotation and switches; a description: its architecture's (qwen2 biases, qwen3 q/k norms, gemma2 scales, caps, sandwich norms, windows).
  const description = "weights" in model ? model : describeLlamaModel(model);
  const weights = description.weights;
  validateWeights(weights);
  const { config } = weights;
  const rope = options.rope ?? ("weights" in model ? description.rope : undefined);
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize, normEpsilon } = config;
  const groupSize = heads / kvHeads;
  const maxPositions = options.maxPositions ?? config.maxSequenceLength;
  const graph = new GraphBuilder();
  const half = options.precision === "fp16";
  const io: OnnxElementType = half ? "float16" : "float";
  const blockSize = options.blockSize ?? 32;
  if (options.weightBits !== undefined && options.weightType !== undefined) throw new RangeError("exportLlamaDecoder: weightBits (MatMulNBits) and weightType (DequantizeLinear) exclude each other");
  const quantizedWeights = options.weightBits !== undefined || options.weightType !== undefined;

  /** A float weight as the graph computes with it: float32, or float16 storage Cast to float32. */
  const weight = (name: string, dims: readonly number[], data: Float32Array): string => {
    if (!half) return graph.initializer(name, "float", dims, data);
    const bits = Uint16Array.from(data, (value) => numberToFloat16Bits(value));
    return graph.op("Cast", [graph.initializer(`${name}.fp16`, "float16", dims, bits)], name, { to: { type: "int", value: 1 } });
  };
  const toFloat = (input: string, name: string): string => (half ? graph.op("Cast", [input], name, { to: { type: "int", value: 1 } }) : input);

  const inputs: OnnxValueInfo[] = [
    { name: "input_ids", elementType: "int64", shape: ["batch_size", "sequence_length"] },
    { name: "attention_mask", elementType: "int64", shape: ["batch_size", "total_sequence_length"] },
    { name: "position_ids", elementType: "int64", shape: ["batch_size", "sequence_length"] },
  ];
  const outputs: OnnxValueInfo[] = [{ name: "logits", elementType: io, shape: ["batch_size", options.numLogitsToKeep ? "kept_sequence_length" : "sequence_length", vocabSize] }];
  for (let layer = 0; layer < config.layers; layer++) {
    for (const kind of ["key", "value"]) {
      inputs.push({ name: `past_key_values.${layer}.${kind}`, elementType: io, shape: ["batch_size", kvHeads, "past_sequence_length", headDim] });
      outputs.push({ name: `present.${layer}.${kind}`, elementType: io, shape: ["batch_size", kvHeads, "total_sequence_length", headDim] });
    }
  }
  if (options.numLogitsToKeep) inputs.push({ name: "num_logits_to_keep", elementType: "int64", shape: [] });
  for (const input of inputs) graph.reserve(input.name);

  // Causal + padding mask, shared by every layer: query i (absolute index past+i) may read key j
  // when j ≤ past+i and attention_mask[j] = 1. Shape [batch, 1, seq, past+seq].
  const total = graph.op("Squeeze", [graph.op("Shape", ["attention_mask"], "mask.total", { start: { type: "int", value: 1 }, end: { type: "int", value: 2 } }), graph.int64s([0])], "mask.total_scalar");
  const sequence = graph.op("Squeeze", [graph.op("Shape", ["input_ids"], "mask.sequence", { start: { type: "int", value: 1 }, end: { type: "int", value: 2 } }), graph.int64s([0])], "mask.sequence_scalar");
  const past = graph.op("Sub", [total, sequence], "mask.past_scalar");
  const keyIndex = graph.op("Range", [graph.int64Scalar(0), total, graph.int64Scalar(1)], "mask.key_index");
  const queryIndex = graph.op("Unsqueeze", [graph.op("Range", [past, total, graph.int64Scalar(1)], "mask.query_index"), graph.int64s([1])], "mask.query_column");
  const causal = graph.op("LessOrEqual", [keyIndex, queryIndex], "mask.causal");
  const padding = graph.op("Unsqueeze", [graph.op("Cast", ["attention_mask"], "mask.padding", { to: { type: "int", value: 9 } }), graph.int64s([1, 2])], "mask.padding_4d");
  const allowed = graph.op("And", [causal, padding], "mask.allowed");
  const maskBias = graph.op("Where", [allowed, graph.floatScalar(0), graph.floatScalar(MASKED_SCORE)], "mask.bias");
  // A sliding window of W: query i also needs i − j < W (itself and the W − 1 keys before it), one mask per window size.
  const windowMasks = new Map<number, string>();
  const windowMask = (window: number): string => {
    const existing = windowMasks.get(window);
    if (existing) return existing;
    const distance = graph.op("Sub", [queryIndex, keyIndex], `mask.window${window}.distance`);
    const inside = graph.op("Less", [distance, graph.int64Scalar(window)], `mask.window${window}.inside`);
    const mask = graph.op("Where", [graph.op("And", [allowed, inside], `mask.window${window}.allowed`), graph.floatScalar(0), graph.floatScalar(MASKED_SCORE)], `mask.window${window}.bias`);
    windowMasks.set(window, mask);
    return mask;
  };
  /** cap · tanh(x / cap) (Gemma 2's attention and final logit soft caps). */
  const softCap = (input: string, cap: number, name: string): string =>
    graph.op("Mul", [graph.op("Tanh", [graph.op("Div", [input, graph.floatScalar(cap)], `${name}.scaled`)], `${name}.tanh`), graph.floatScalar(cap)], name);
  /** gelu with the tanh approximation: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))) (Gemma's gelu_pytorch_tanh). */
  const geluTanh = (input: string, name: string): string => {
    const cube = graph.op("Mul", [graph.op("Mul", [input, input], `${name}.square`), input], `${name}.cube`);
    const inner = graph.op("Add", [input, graph.op("Mul", [cube, graph.floatScalar(0.044715)], `${name}.cube_scaled`)], `${name}.inner`);
    const tanh = graph.op("Tanh", [graph.op("Mul", [inner, graph.floatScalar(Math.sqrt(2 / Math.PI))], `${name}.argument`)], `${name}.tanh`);
    return graph.op("Mul", [graph.op("Mul", [input, graph.floatScalar(0.5)], `${name}.half`), graph.op("Add", [tanh, graph.floatScalar(1)], `${name}.one_plus`)], name);
  };

  // RoPE tables gathered by position id, shaped [batch, seq, 1, headDim/2, 1] to broadcast over heads and pairs.
  const tables = ropeTables(config, maxPositions, rope);
  const neox = rope?.style === "neox";
  const cosTable = graph.initializer("rope.cos", "float", [maxPositions, headDim / 2], tables.cos);
  const sinTable = graph.initializer("rope.sin", "float", [maxPositions, headDim / 2], tables.sin);
  // Interleaved pairs: [batch, seq, 1, headDim/2, 1]; NeoX halves: [batch, seq, 1, headDim/2].
  const ropeAxes = graph.int64s(neox ? [2] : [2, 4]);
  const cos = graph.op("Unsqueeze", [graph.op("Gather", [cosTable, "position_ids"], "rope.cos_gathered", { axis: { type: "int", value: 0 } }), ropeAxes], "rope.cos_5d");
  const sin = graph.op("Unsqueeze", [graph.op("Gather", [sinTable, "position_ids"], "rope.sin_gathered", { axis: { type: "int", value: 0 } }), ropeAxes], "rope.sin_5d");

  const rmsNorm = (input: string, normWeight: Float32Array, prefix: string): string => {
    const squared = graph.op("Mul", [input, input], `${prefix}.squared`);
    const meanSquare = graph.op("ReduceMean", [squared], `${prefix}.mean_square`, { axes: { type: "ints", value: [-1] }, keepdims: { type: "int", value: 1 } });
    const shifted = graph.op("Add", [meanSquare, graph.floatScalar(normEpsilon)], `${prefix}.shifted`);
    const inverse = graph.op("Reciprocal", [graph.op("Sqrt", [shifted], `${prefix}.rms`)], `${prefix}.inverse_rms`);
    const normalized = graph.op("Mul", [input, inverse], `${prefix}.normalized`);
    return graph.op("Mul", [normalized, weight(`${prefix}.weight`, [normWeight.length], normWeight)], `${prefix}.out`);
  };

  /**
   * x·Wᵀ for a llama2.c weight W stored [out, in]: the initializer holds Wᵀ so MatMul needs no
   * Transpose; with weightBits, MatMulNBits over W's blocks as stored (it computes x·dequant(B)ᵀ);
   * with weightType, DequantizeLinear of the 8-bit Wᵀ along its output axis, then MatMul.
   */
  const linear = (input: string, matrix: Float32Array, outFeatures: number, inFeatures: number, name: string): string => {
    if (options.weightType !== undefined) {
      const quantized = quantizeDequantizeLinear(matrix, outFeatures, inFeatures, options.weightType);
      const values = graph.initializer(`${name}.weight_transposed_${options.weightType}`, options.weightType, [inFeatures, outFeatures], quantized.quantized);
      const scales = graph.initializer(`${name}.weight_scale`, "float", [outFeatures], quantized.scales);
      const zeroPoints = graph.initializer(`${name}.weight_zero_point`, options.weightType, [outFeatures], quantized.zeroPoints);
      const dequantized = graph.op("DequantizeLinear", [values, scales, zeroPoints], `${name}.weight_transposed`, { axis: { type: "int", value: 1 } });
      return graph.op("MatMul", [input, dequantized], name);
    }
    if (options.weightBits !== undefined) {
      const quantized = quantizeMatMulNBits(matrix, outFeatures, inFeatures, options.weightBits, blockSize);
      const blocks = Math.ceil(inFeatures / blockSize);
      const packed = graph.initializer(`${name}.weight_q${options.weightBits}`, "uint8", [outFeatures, blocks, (blockSize * options.weightBits) / 8], quantized.packed);
      const scales = graph.initializer(`${name}.weight_scales`, "float", [outFeatures * blocks], quantized.scales);
      const attributes = { K: { type: "int", value: inFeatures }, N: { type: "int", value: outFeatures }, bits: { type: "int", value: options.weightBits }, block_size: { type: "int", value: blockSize } } as const;
      return graph.op("MatMulNBits", [input, packed, scales], name, attributes, undefined, "com.microsoft");
    }
    return graph.op("MatMul", [input, weight(`${name}.weight_transposed`, [inFeatures, outFeatures], transpose(matrix, outFeatures, inFeatures))], name);
  };

  /** [batch, seq, headCount, headDim] → RoPE-rotated, same shape. */
  const rotate = (input: string, headCount: number, prefix: string): string => {
    if (neox) {
      const halfDim = headDim / 2;
      const first = graph.op("Slice", [input, graph.int64s([0]), graph.int64s([halfDim]), graph.int64s([-1])], `${prefix}.first`);
      const second = graph.op("Slice", [input, graph.int64s([halfDim]), graph.int64s([headDim]), graph.int64s([-1])], `${prefix}.second`);
      const rotatedFirst = graph.op("Sub", [graph.op("Mul", [first, cos], `${prefix}.first_cos`), graph.op("Mul", [second, sin], `${prefix}.second_sin`)], `${prefix}.rotated_first`);
      const rotatedSecond = graph.op("Add", [graph.op("Mul", [second, cos], `${prefix}.second_cos`), graph.op("Mul", [first, sin], `${prefix}.first_sin`)], `${prefix}.rotated_second`);
      return graph.op("Concat", [rotatedFirst, rotatedSecond], `${prefix}.out`, { axis: { type: "int", value: -1 } });
    }
    const pairs = graph.op("Reshape", [input, graph.int64s([0, 0, headCount, headDim / 2, 2])], `${prefix}.pairs`);
    const even = graph.op("Slice", [pairs, graph.int64s([0]), graph.int64s([1]), graph.int64s([-1])], `${prefix}.even`);
    const odd = graph.op("Slice", [pairs, graph.int64s([1]), graph.int64s([2]), graph.int64s([-1])], `${prefix}.odd`);
    const rotatedEven = graph.op("Sub", [graph.op("Mul", [even, cos], `${prefix}.even_cos`), graph.op("Mul", [odd, sin], `${prefix}.odd_sin`)], `${prefix}.rotated_even`);
    const rotatedOdd = graph.op("Add", [graph.op("Mul", [even, sin], `${prefix}.even_sin`), graph.op("Mul", [odd, cos], `${prefix}.odd_cos`)], `${prefix}.rotated_odd`);
    const joined = graph.op("Concat", [rotatedEven, rotatedOdd], `${prefix}.joined`, { axis: { type: "int", value: -1 } });
    return graph.op("Reshape", [joined, graph.int64s([0, 0, headCount, headDim])], `${prefix}.out`);
  };

  /** [batch, seq, headCount·headDim] → [batch, headCount, seq, headDim]. */
  const splitHeads = (input: string, headCount: number, name: string): string =>
    graph.op("Transpose", [graph.op("Reshape", [input, graph.int64s([0, 0, headCount, headDim])], `${name}.heads`)], name, { perm: { type: "ints", value: [0, 2, 1, 3] } });

  /** GQA: [batch, kvHeads, total, headDim] → [batch, heads, total, headDim], query head h reading kv head ⌊h / groupSize⌋. */
  const repeatKV = (input: string, name: string): string => {
    if (groupSize === 1) return input;
    const unsqueezed = graph.op("Unsqueeze", [input, graph.int64s([2])], `${name}.unsqueezed`);
    const expanded = graph.op("Expand", [unsqueezed, graph.int64s([1, 1, groupSize, 1, 1])], `${name}.expanded`);
    return graph.op("Reshape", [expanded, graph.int64s([0, heads, -1, headDim])], name);
  };

  const embeddingName = weight("token_embedding", [vocabSize, dim], weights.tokenEmbedding);
  let hidden = graph.op("Gather", [embeddingName, "input_ids"], "embedding", { axis: { type: "int", value: 0 } });
  if (description.embeddingScale !== 1) hidden = graph.op("Mul", [hidden, graph.floatScalar(description.embeddingScale)], "embedding.scaled");
  const scale = graph.floatScalar(Math.sqrt(headDim));

  weights.layers.forEach((layer, index) => {
    const prefix = `layers.${index}`;
    const normalized = rmsNorm(hidden, layer.attentionNorm, `${prefix}.attention_norm`);
    const withBias = (input: string, bias: Float32Array | undefined, name: string): string => (bias ? graph.op("Add", [input, weight(`${name}.bias`, [bias.length], bias)], `${name}.biased`) : input);
    const query = withBias(linear(normalized, layer.wq, heads * headDim, dim, `${prefix}.attention.q`), layer.bq, `${prefix}.attention.q`);
    const key = withBias(linear(normalized, layer.wk, kvHeads * headDim, dim, `${prefix}.attention.k`), layer.bk, `${prefix}.attention.k`);
    const value = withBias(linear(normalized, layer.wv, kvHeads * headDim, dim, `${prefix}.attention.v`), layer.bv, `${prefix}.attention.v`);

    // Per-head q/k RMSNorm before the rotation (Qwen3).
    let queryHeadsRaw = graph.op("Reshape", [query, graph.int64s([0, 0, heads, headDim])], `${prefix}.attention.q_heads`);
    let keyHeadsRaw = graph.op("Reshape", [key, graph.int64s([0, 0, kvHeads, headDim])], `${prefix}.attention.k_heads`);
    if (layer.queryNorm && layer.keyNorm) {
      queryHeadsRaw = rmsNorm(queryHeadsRaw, layer.queryNorm, `${prefix}.attention.q_norm`);
      keyHeadsRaw = rmsNorm(keyHeadsRaw, layer.keyNorm, `${prefix}.attention.k_norm`);
    }
    const queryRotated = rotate(queryHeadsRaw, heads, `${prefix}.attention.q_rope`);
    const keyRotated = rotate(keyHeadsRaw, kvHeads, `${prefix}.attention.k_rope`);
    const queryHeads = graph.op("Transpose", [queryRotated], `${prefix}.attention.q_transposed`, { perm: { type: "ints", value: [0, 2, 1, 3] } });
    const keyHeads = graph.op("Transpose", [keyRotated], `${prefix}.attention.k_transposed`, { perm: { type: "ints", value: [0, 2, 1, 3] } });
    const valueHeads = splitHeads(value, kvHeads, `${prefix}.attention.v_transposed`);

    const concatAxis = { axis: { type: "int", value: 2 } } as const;
    // fp16: the past is widened to float32, and present narrowed back for the output.
    const concatenate = (kind: "key" | "value", current: string): string => {
      if (!half) return graph.op("Concat", [`past_key_values.${index}.${kind}`, current], "", concatAxis, `present.${index}.${kind}`);
      const all = graph.op("Concat", [toFloat(`past_key_values.${index}.${kind}`, `${prefix}.attention.past_${kind}_float`), current], `${prefix}.attention.present_${kind}_float`, concatAxis);
      graph.op("Cast", [all], "", { to: { type: "int", value: 10 } }, `present.${index}.${kind}`);
      return all;
    };
    const presentKey = concatenate("key", keyHeads);
    const presentValue = concatenate("value", valueHeads);
    const keys = repeatKV(presentKey, `${prefix}.attention.k_repeated`);
    const values = repeatKV(presentValue, `${prefix}.attention.v_repeated`);

    const keysTransposed = graph.op("Transpose", [keys], `${prefix}.attention.k_for_scores`, { perm: { type: "ints", value: [0, 1, 3, 2] } });
    // Divide by √headDim (as run.c does) rather than multiply by its reciprocal.
    const dot = graph.op("MatMul", [queryHeads, keysTransposed], `${prefix}.attention.dot`);
    let scores = description.attentionScale === 1 / Math.sqrt(headDim) ? graph.op("Div", [dot, scale], `${prefix}.attention.scores`) : graph.op("Mul", [dot, graph.floatScalar(description.attentionScale)], `${prefix}.attention.scores`);
    if (description.attentionLogitSoftCap !== undefined) scores = softCap(scores, description.attentionLogitSoftCap, `${prefix}.attention.capped`);
    const layerAttention = description.layerAttention[index];
    const layerMask = layerAttention.kind === "sliding-window" ? windowMask(layerAttention.window) : maskBias;
    const weightsSoftmax = graph.op("Softmax", [graph.op("Add", [scores, layerMask], `${prefix}.attention.masked`)], `${prefix}.attention.weights`, { axis: { type: "int", value: -1 } });
    const context = graph.op("MatMul", [weightsSoftmax, values], `${prefix}.attention.context`);
    const merged = graph.op(
      "Reshape",
      [graph.op("Transpose", [context], `${prefix}.attention.context_transposed`, { perm: { type: "ints", value: [0, 2, 1, 3] } }), graph.int64s([0, 0, heads * headDim])],
      `${prefix}.attention.merged`,
    );
    let attentionOut = linear(merged, layer.wo, dim, heads * headDim, `${prefix}.attention.o`);
    if (layer.postAttentionNorm) attentionOut = rmsNorm(attentionOut, layer.postAttentionNorm, `${prefix}.post_attention_norm`);
    hidden = graph.op("Add", [hidden, attentionOut], `${prefix}.attention_residual`);

    // SwiGLU: w2 · (silu(w1·x) ⊙ w3·x)
    const ffnInput = rmsNorm(hidden, layer.ffnNorm, `${prefix}.ffn_norm`);
    const gate = linear(ffnInput, layer.w1, hiddenDim, dim, `${prefix}.ffn.w1`);
    const up = linear(ffnInput, layer.w3, hiddenDim, dim, `${prefix}.ffn.w3`);
    const activated = description.activation === "gelu-tanh" ? geluTanh(gate, `${prefix}.ffn.gelu`) : graph.op("Mul", [gate, graph.op("Sigmoid", [gate], `${prefix}.ffn.sigmoid`)], `${prefix}.ffn.silu`);
    let down = linear(graph.op("Mul", [activated, up], `${prefix}.ffn.gated`), layer.w2, dim, hiddenDim, `${prefix}.ffn.w2`);
    if (layer.postFfnNorm) down = rmsNorm(down, layer.postFfnNorm, `${prefix}.post_ffn_norm`);
    hidden = graph.op("Add", [hidden, down], `${prefix}.ffn_residual`);
  });

  let finalNormalized = rmsNorm(hidden, weights.finalNorm, "final_norm");
  if (options.numLogitsToKeep) {
    // Positions [seq − k, seq) for k > 0, all for k = 0 (transformers.js passes 0 in forward).
    const keep = "num_logits_to_keep";
    const start = graph.op("Where", [graph.op("Greater", [keep, graph.int64Scalar(0)], "logits.keep_some"), graph.op("Neg", [keep], "logits.keep_negated"), graph.int64Scalar(0)], "logits.keep_start");
    const starts = graph.op("Unsqueeze", [start, graph.int64s([0])], "logits.keep_starts");
    finalNormalized = graph.op("Slice", [finalNormalized, starts, graph.int64s([1e15]), graph.int64s([1])], "final_norm.kept");
  }
  // Logits pass through a bias / soft cap / float16 Cast when any applies: name the last one "logits".
  const logitsTail = half || weights.classifierBias !== undefined || description.finalLogitSoftCap !== undefined;
  const logitsName = logitsTail ? undefined : "logits";
  let logits: string;
  if (config.sharedClassifier || weights.classifier === weights.tokenEmbedding) {
    // Reuse the embedding initializer rather than storing a second copy; ORT folds the Transpose once at load.
    const classifierTransposed = graph.op("Transpose", [embeddingName], "classifier.weight_transposed", { perm: { type: "ints", value: [1, 0] } });
    logits = graph.op("MatMul", [finalNormalized, classifierTransposed], "logits.float", undefined, logitsName);
  } else if (quantizedWeights) {
    const projected = linear(finalNormalized, weights.classifier, vocabSize, dim, "classifier");
    logits = logitsTail ? projected : graph.op("Identity", [projected], "", undefined, "logits");
  } else {
    const classifierTransposed = weight("classifier.weight_transposed", [dim, vocabSize], transpose(weights.classifier, vocabSize, dim));
    logits = graph.op("MatMul", [finalNormalized, classifierTransposed], "logits.float", undefined, logitsName);
  }
  if (weights.classifierBias) logits = graph.op("Add", [logits, weight("classifier.bias", [vocabSize], weights.classifierBias)], "logits.biased");
  if (description.finalLogitSoftCap !== undefined) logits = softCap(logits, description.finalLogitSoftCap, "logits.capped");
  if (half) graph.op("Cast", [logits], "", { to: { type: "int", value: 10 } }, "logits");
  else if (logitsTail) graph.op("Identity", [logits], "", undefined, "logits");

  return {
    irVersion: LLAMA_DECODER_IR_VERSION,
    opsetVersion: LLAMA_DECODER_OPSET,
    producerName: "kvpack-export-onnx",
    producerVersion: "0.1.0",
    docString: "Llama decoder with past (Hugging Face Optimum layout), exported from llama2.c weights by @kvpack/export-onnx",
    ...(options.weightBits === undefined ? {} : { extraOpsets: [{ domain: "com.microsoft", version: 1 }] }),
    metadata: {
      "kvpack.model": options.modelName ?? "llama",
      "kvpack.precision": half ? "fp16" : "fp32",
      ...(options.weightBits === undefined ? {} : { "kvpack.weights": `MatMulNBits ${options.weightBits}-bit, block ${blockSize}` }),
      ...(options.weightType === undefined ? {} : { "kvpack.weights": `${options.weightType.toUpperCase()} per output channel → DequantizeLinear → MatMul` }),
      "kvpack.layers": String(config.layers),
      "kvpack.heads": String(heads),
      "kvpack.kv_heads": String(kvHeads),
      "kvpack.head_dim": String(headDim),
      "kvpack.architecture": description.architecture,
      "kvpack.rope": neox ? "NeoX rotate_half" : "llama2.c pair-interleaved",
    },
    graph: graph.build(options.modelName ?? "llama_decoder_with_past", inputs, outputs),
  };
}

/** Serialized ONNX bytes of `buildLlamaDecoderModel`. */
export function exportLlamaDecoderOnnx(model: LlamaWeights | LlamaModelDescription, options: LlamaDecoderExportOptions = {}): Uint8Array {
  return encodeModel(buildLlamaDecoderModel(model, options));
}
