import { DenseKVCache } from "@kvpack/cache";
import {
  describeLlamaModel,
  LlamaRuntime,
  loadLlama2cTokenizer,
  writeLlamaGguf,
  type LlamaLayerWeights,
  type LlamaModelDescription,
  type LlamaWeights,
} from "@kvpack/adapters";

/** Deterministic uniform(−scale, scale) values (xorshift32), so the test model is the same on every run. */
function randomArray(count: number, scale: number, state: { value: number }): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) {
    let s = state.value;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    state.value = s >>> 0;
    out[i] = ((state.value + 0.5) / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

/**
 * A random-weight Qwen2 of Qwen2.5's head layout at a tiny width (2 layers, dim 64, 4 query heads
 * sharing 1 KV head of size 16, q/k/v biases, NeoX RoPE θ = 10⁶, untied classifier) on tok512's
 * 512-piece vocabulary: the description and its GGUF bytes.
 */
export function qwen2Model(tokenizerBytes: ArrayBuffer, name: string): { description: LlamaModelDescription; gguf: Uint8Array } {
  const config = { dim: 64, hiddenDim: 128, layers: 2, heads: 4, kvHeads: 1, headDim: 16, vocabSize: 512, maxSequenceLength: 256, ropeTheta: 1e6, normEpsilon: 1e-6, sharedClassifier: false };
  const state = { value: 20261207 };
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize } = config;
  const matrix = (rows: number, columns: number) => randomArray(rows * columns, Math.sqrt(3 / columns), state);
  const ones = (count: number) => new Float32Array(count).fill(1);
  const layers = Array.from({ length: config.layers }, (): LlamaLayerWeights => ({
    attentionNorm: ones(dim),
    wq: matrix(heads * headDim, dim),
    wk: matrix(kvHeads * headDim, dim),
    wv: matrix(kvHeads * headDim, dim),
    wo: matrix(dim, heads * headDim),
    ffnNorm: ones(dim),
    w1: matrix(hiddenDim, dim),
    w2: matrix(dim, hiddenDim),
    w3: matrix(hiddenDim, dim),
    bq: randomArray(heads * headDim, 0.3, state),
    bk: randomArray(kvHeads * headDim, 0.3, state),
    bv: randomArray(kvHeads * headDim, 0.3, state),
  }));
  const weights: LlamaWeights = { config, tokenEmbedding: randomArray(vocabSize * dim, 1, state), layers, finalNorm: ones(dim), classifier: matrix(vocabSize, dim) };
  const description = describeLlamaModel(weights, { architecture: "qwen2", rope: { style: "neox", freqBase: config.ropeTheta } });
  const tokenizer = loadLlama2cTokenizer(tokenizerBytes, vocabSize);
  return { description, gguf: writeLlamaGguf(description, tokenizer, { name }) };
}

/**
 * The greedy text the playground must show for `prompt` (BOS + prompt, then `steps` positions in
 * all, stopping at a stop token), computed in Node by kvpack's plain TypeScript LlamaRuntime: the
 * page runs the kernel runtime on WASM, so this is an independent path through the same description.
 */
export function greedyText(description: LlamaModelDescription, tokenizerBytes: ArrayBuffer, prompt: string, steps: number): string {
  const tokenizer = loadLlama2cTokenizer(tokenizerBytes, description.config.vocabSize);
  const runtime = new LlamaRuntime(description);
  const cache = new DenseKVCache({ layers: description.config.layers, kvHeads: description.config.kvHeads, headDim: description.config.headDim, capacity: steps + 1 });
  const ids = tokenizer.encode(prompt, { bos: true });
  let logits: Float32Array = new Float32Array(0);
  for (const [position, id] of ids.entries()) logits = runtime.forward(id, position, cache);
  const decoder = new TextDecoder();
  let text = prompt;
  let previous = ids.at(-1)!;
  for (let position = ids.length; position <= steps; position++) {
    let next = 0;
    for (let id = 1; id < logits.length; id++) if (logits[id] > logits[next]) next = id;
    if (tokenizer.stopTokenIds.includes(next)) break;
    text += decoder.decode(tokenizer.tokenBytes(previous, next), { stream: true });
    previous = next;
    if (position < steps) logits = runtime.forward(next, position, cache);
  }
  return text + decoder.decode();
}
