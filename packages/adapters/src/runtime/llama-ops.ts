import type { Step } from "./run-steps.js";

/**
 * The kernels of one Llama forward chunk, each over `rows` tokens laid out row-major. The loop in
 * llama-forward-loop.ts calls them in order and owns everything else (embedding, residual adds,
 * cache append / attend, the observer). An implementation may reuse its output buffers: the loop
 * consumes each result before calling the same kernel again.
 */
export interface LlamaOps {
  /** RMSNorm of each row of `x` (rows × dim) with the layer's attention-norm weight. */
  attentionNorm(layer: number, x: Float32Array, rows: number): Step<Float32Array>;
  /** rows × (queryDim + 2·kvDim): per row [queries | keys | values], plus the layer's q/k/v biases where it has them (Qwen2). */
  queryKeyValue(layer: number, normed: Float32Array, rows: number): Step<Float32Array>;
  /** Per-head RMSNorm of the queries and keys of `queryKeyValue` (Qwen3), in place; called only for layers with q/k norms. */
  queryKeyNorm(layer: number, queryKeyValue: Float32Array, rows: number): Step<Float32Array>;
  /** RoPE on the queries and keys of each row of `queryKeyValue`, row r at `startPosition + r`. */
  rotate(queryKeyValue: Float32Array, rows: number, startPosition: number): Step<Float32Array>;
  /** Attention output (rows × queryDim) through wo: rows × dim. */
  output(layer: number, attention: Float32Array, rows: number): Step<Float32Array>;
  /** RMSNorm of the attention block's output before its residual add (Gemma 2); called only for layers with one. */
  postAttentionNorm(layer: number, x: Float32Array, rows: number): Step<Float32Array>;
  ffnNorm(layer: number, x: Float32Array, rows: number): Step<Float32Array>;
  /** rows × 2·hiddenDim: per row [w1·x | w3·x]. */
  gateUp(layer: number, normed: Float32Array, rows: number): Step<Float32Array>;
  /** activation(gate) ⊙ up per row, the model's activation (silu, or gelu_tanh for Gemma 2): rows × hiddenDim. */
  gatedActivation(gateUp: Float32Array, rows: number): Step<Float32Array>;
  /** rows × hiddenDim through w2: rows × dim. */
  down(layer: number, hidden: Float32Array, rows: number): Step<Float32Array>;
  /** RMSNorm of the feed-forward output before its residual add (Gemma 2); called only for layers with one. */
  postFfnNorm(layer: number, x: Float32Array, rows: number): Step<Float32Array>;
  /** Final RMSNorm of one row (dim). */
  finalNorm(x: Float32Array): Step<Float32Array>;
  /** One normed row → vocabSize logits. */
  classifier(normed: Float32Array): Step<Float32Array>;
}
