import type { Gpt2Weights } from "@kvpack/adapters";
import { GraphBuilder } from "./graph-builder.js";
import { LLAMA_DECODER_IR_VERSION, LLAMA_DECODER_OPSET } from "./llama-decoder-graph.js";
import { encodeModel, type OnnxModel, type OnnxValueInfo } from "./onnx-proto.js";

const MASKED_SCORE = -1e9;

export interface Gpt2DecoderExportOptions {
  readonly modelName?: string;
  /** Add transformers.js' scalar int64 `num_logits_to_keep` input (k > 0: last k positions, 0: all). */
  readonly numLogitsToKeep?: boolean;
}

function transpose(matrix: Float32Array, rows: number, columns: number): Float32Array {
  const out = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row++) for (let column = 0; column < columns; column++) out[column * rows + row] = matrix[row * columns + column];
  return out;
}

/**
 * GPT-2 as a decoder-with-past ONNX graph in the transformers.js layout (opset 17): learned position
 * embeddings gathered by position_ids, LayerNormalization, biased q/k/v and projections, the causal
 * + padding mask of the Llama graph, softmax(q·kᵀ/√d), tanh GELU ("gelu_new"), classifier tied to wte;
 * past_key_values.N.key / .value [batch, heads, past, headDim] → present.N.*.
 */
export function buildGpt2DecoderModel(weights: Gpt2Weights, options: Gpt2DecoderExportOptions = {}): OnnxModel {
  const { config } = weights;
  const { dim, hiddenDim, heads, headDim, vocabSize, maxSequenceLength, normEpsilon } = config;
  const graph = new GraphBuilder();
  const inputs: OnnxValueInfo[] = [
    { name: "input_ids", elementType: "int64", shape: ["batch_size", "sequence_length"] },
    { name: "attention_mask", elementType: "int64", shape: ["batch_size", "total_sequence_length"] },
    { name: "position_ids", elementType: "int64", shape: ["batch_size", "sequence_length"] },
  ];
  const outputs: OnnxValueInfo[] = [{ name: "logits", elementType: "float", shape: ["batch_size", options.numLogitsToKeep ? "kept_sequence_length" : "sequence_length", vocabSize] }];
  for (let layer = 0; layer < config.layers; layer++) {
    for (const kind of ["key", "value"]) {
      inputs.push({ name: `past_key_values.${layer}.${kind}`, elementType: "float", shape: ["batch_size", heads, "past_sequence_length", headDim] });
      outputs.push({ name: `present.${layer}.${kind}`, elementType: "float", shape: ["batch_size", heads, "total_sequence_length", headDim] });
    }
  }
  if (options.numLogitsToKeep) inputs.push({ name: "num_logits_to_keep", elementType: "int64", shape: [] });
  for (const input of inputs) graph.reserve(input.name);

  const total = graph.op("Squeeze", [graph.op("Shape", ["attention_mask"], "mask.total", { start: { type: "int", value: 1 }, end: { type: "int", value: 2 } }), graph.int64s([0])], "mask.total_scalar");
  const sequence = graph.op("Squeeze", [graph.op("Shape", ["input_ids"], "mask.sequence", { start: { type: "int", value: 1 }, end: { type: "int", value: 2 } }), graph.int64s([0])], "mask.sequence_scalar");
  const past = graph.op("Sub", [total, sequence], "mask.past_scalar");
  const keyIndex = graph.op("Range", [graph.int64Scalar(0), total, graph.int64Scalar(1)], "mask.key_index");
  const queryIndex = graph.op("Unsqueeze", [graph.op("Range", [past, total, graph.int64Scalar(1)], "mask.query_index"), graph.int64s([1])], "mask.query_column");
  const causal = graph.op("LessOrEqual", [keyIndex, queryIndex], "mask.causal");
  const padding = graph.op("Unsqueeze", [graph.op("Cast", ["attention_mask"], "mask.padding", { to: { type: "int", value: 9 } }), graph.int64s([1, 2])], "mask.padding_4d");
  const maskBias = graph.op("Where", [graph.op("And", [causal, padding], "mask.allowed"), graph.floatScalar(0), graph.floatScalar(MASKED_SCORE)], "mask.bias");

  const vector = (name: string, values: Float32Array) => graph.initializer(name, "float", [values.length], values);
  const layerNorm = (input: string, weight: Float32Array, bias: Float32Array, name: string) =>
    graph.op("LayerNormalization", [input, vector(`${name}.weight`, weight), vector(`${name}.bias`, bias)], name, { axis: { type: "int", value: -1 }, epsilon: { type: "float", value: normEpsilon } });
  /** x·Wᵀ + b for W stored [out, in]. */
  const linear = (input: string, weight: Float32Array, bias: Float32Array, outFeatures: number, inFeatures: number, name: string) =>
    graph.op("Add", [graph.op("MatMul", [input, graph.initializer(`${name}.weight_transposed`, "float", [inFeatures, outFeatures], transpose(weight, outFeatures, inFeatures))], `${name}.product`), vector(`${name}.bias`, bias)], name);
  const splitHeads = (input: string, name: string) =>
    graph.op("Transpose", [graph.op("Reshape", [input, graph.int64s([0, 0, heads, headDim])], `${name}.heads`)], name, { perm: { type: "ints", value: [0, 2, 1, 3] } });

  const tokens = graph.op("Gather", [graph.initializer("wte", "float", [vocabSize, dim], weights.tokenEmbedding), "input_ids"], "embedding.tokens", { axis: { type: "int", value: 0 } });
  const positions = graph.op("Gather", [graph.initializer("wpe", "float", [maxSequenceLength, dim], weights.positionEmbedding), "position_ids"], "embedding.positions", { axis: { type: "int", value: 0 } });
  let hidden = graph.op("Add", [tokens, positions], "embedding");
  const scale = graph.floatScalar(Math.sqrt(headDim));
  const geluScale = graph.floatScalar(Math.sqrt(2 / Math.PI));

  weights.layers.forEach((layer, index) => {
    const prefix = `h.${index}`;
    const normed = layerNorm(hidden, layer.attentionNormWeight, layer.attentionNormBias, `${prefix}.ln_1`);
    const queries = splitHeads(linear(normed, layer.wq, layer.bq, dim, dim, `${prefix}.attn.q`), `${prefix}.attn.q_heads`);
    const keys = splitHeads(linear(normed, layer.wk, layer.bk, dim, dim, `${prefix}.attn.k`), `${prefix}.attn.k_heads`);
    const values = splitHeads(linear(normed, layer.wv, layer.bv, dim, dim, `${prefix}.attn.v`), `${prefix}.attn.v_heads`);
    const concatAxis = { axis: { type: "int", value: 2 } } as const;
    const presentKey = graph.op("Concat", [`past_key_values.${index}.key`, keys], "", concatAxis, `present.${index}.key`);
    const presentValue = graph.op("Concat", [`past_key_values.${index}.value`, values], "", concatAxis, `present.${index}.value`);
    const keysTransposed = graph.op("Transpose", [presentKey], `${prefix}.attn.k_for_scores`, { perm: { type: "ints", value: [0, 1, 3, 2] } });
    const scores = graph.op("Div", [graph.op("MatMul", [queries, keysTransposed], `${prefix}.attn.dot`), scale], `${prefix}.attn.scores`);
    const attention = graph.op("Softmax", [graph.op("Add", [scores, maskBias], `${prefix}.attn.masked`)], `${prefix}.attn.weights`, { axis: { type: "int", value: -1 } });
    const context = graph.op("MatMul", [attention, presentValue], `${prefix}.attn.context`);
    const merged = graph.op("Reshape", [graph.op("Transpose", [context], `${prefix}.attn.context_transposed`, { perm: { type: "ints", value: [0, 2, 1, 3] } }), graph.int64s([0, 0, dim])], `${prefix}.attn.merged`);
    hidden = graph.op("Add", [hidden, linear(merged, layer.wo, layer.bo, dim, dim, `${prefix}.attn.c_proj`)], `${prefix}.attention_residual`);
    const ffnInput = layerNorm(hidden, layer.ffnNormWeight, layer.ffnNormBias, `${prefix}.ln_2`);
    const up = linear(ffnInput, layer.wUp, layer.bUp, hiddenDim, dim, `${prefix}.mlp.c_fc`);
    // gelu_new: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
    const cube = graph.op("Mul", [graph.op("Mul", [up, up], `${prefix}.mlp.square`), up], `${prefix}.mlp.cube`);
    const inner = graph.op("Mul", [graph.op("Add", [up, graph.op("Mul", [cube, graph.floatScalar(0.044715)], `${prefix}.mlp.cube_scaled`)], `${prefix}.mlp.inner`), geluScale], `${prefix}.mlp.argument`);
    const gelu = graph.op("Mul", [graph.op("Mul", [up, graph.floatScalar(0.5)], `${prefix}.mlp.half`), graph.op("Add", [graph.op("Tanh", [inner], `${prefix}.mlp.tanh`), graph.floatScalar(1)], `${prefix}.mlp.one_plus`)], `${prefix}.mlp.gelu`);
    hidden = graph.op("Add", [hidden, linear(gelu, layer.wDown, layer.bDown, dim, hiddenDim, `${prefix}.mlp.c_proj`)], `${prefix}.ffn_residual`);
  });
  let final = layerNorm(hidden, weights.finalNormWeight, weights.finalNormBias, "ln_f");
  if (options.numLogitsToKeep) {
    const keep = "num_logits_to_keep";
    const start = graph.op("Where", [graph.op("Greater", [keep, graph.int64Scalar(0)], "logits.keep_some"), graph.op("Neg", [keep], "logits.keep_negated"), graph.int64Scalar(0)], "logits.keep_start");
    final = graph.op("Slice", [final, graph.op("Unsqueeze", [start, graph.int64s([0])], "logits.keep_starts"), graph.int64s([1e15]), graph.int64s([1])], "ln_f.kept");
  }
  graph.op("MatMul", [final, graph.op("Transpose", ["wte"], "classifier.weight_transposed", { perm: { type: "ints", value: [1, 0] } })], "", undefined, "logits");
  return {
    irVersion: LLAMA_DECODER_IR_VERSION,
    opsetVersion: LLAMA_DECODER_OPSET,
    producerName: "kvpack-export-onnx",
    producerVersion: "0.1.0",
    docString: "GPT-2 decoder with past (transformers.js layout), exported by @kvpack/export-onnx",
    metadata: { "kvpack.model": options.modelName ?? "gpt2", "kvpack.architecture": "gpt2", "kvpack.layers": String(config.layers), "kvpack.heads": String(heads), "kvpack.head_dim": String(headDim) },
    graph: graph.build(options.modelName ?? "gpt2_decoder_with_past", inputs, outputs),
  };
}

export function exportGpt2DecoderOnnx(weights: Gpt2Weights, options: Gpt2DecoderExportOptions = {}): Uint8Array {
  return encodeModel(buildGpt2DecoderModel(weights, options));
}
