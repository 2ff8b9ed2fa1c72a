import { DenseKVCache } from "@kvpack/cache";
import {
  describeLlamaModel,
  LlamaRuntime,
  loadGgufLlama,
  loadLlama2cTokenizer,
  writeLlamaGguf,
  type LlamaLayerWeights,
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

/** Gemma 2's sliding window in the test model: shorter than the 24 positions the e2e generates, so the ring wraps. */
export const gemma2TestWindow = 8;

/**
 * A random-weight model on tok512's 512-piece vocabulary, written by kvpack's GGUF writer, at a tiny
 * width (2 layers, dim 64, hidden 128):
 * - qwen2: Qwen2.5's head layout — 4 query heads sharing 1 KV head of size 16, q/k/v biases, NeoX
 *   RoPE θ = 10⁶, untied classifier;
 * - gemma2: Gemma 2's — 2 query heads on 1 KV head of size 32, tied embedding scaled by √dim,
 *   sandwich norms, GELU-tanh, soft caps 50 / 30, layer 0 a sliding window of gemma2TestWindow.
 */
export function randomGguf(architecture: "qwen2" | "gemma2", tokenizerBytes: ArrayBuffer, name: string): Uint8Array {
  const gemma = architecture === "gemma2";
  const heads = gemma ? 2 : 4;
  const headDim = gemma ? 32 : 16;
  const config = { dim: 64, hiddenDim: 128, layers: 2, heads, kvHeads: 1, headDim, vocabSize: 512, maxSequenceLength: 256, ropeTheta: gemma ? 10000 : 1e6, normEpsilon: 1e-6, sharedClassifier: gemma };
  const state = { value: gemma ? 20261208 : 20261207 };
  const { dim, hiddenDim, kvHeads, vocabSize } = config;
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
    ...(gemma
      ? { postAttentionNorm: ones(dim), postFfnNorm: ones(dim) }
      : { bq: randomArray(heads * headDim, 0.3, state), bk: randomArray(kvHeads * headDim, 0.3, state), bv: randomArray(kvHeads * headDim, 0.3, state) }),
  }));
  // Gemma multiplies the embedding by √dim = 8: rows of RMS ~1/8 come out at RMS ~1.
  const tokenEmbedding = randomArray(vocabSize * dim, gemma ? Math.sqrt(3) / 8 : 1, state);
  const weights: LlamaWeights = { config, tokenEmbedding, layers, finalNorm: ones(dim), classifier: gemma ? tokenEmbedding : matrix(vocabSize, dim) };
  const rope = { style: "neox" as const, freqBase: config.ropeTheta };
  const description = gemma
    ? describeLlamaModel(weights, {
        architecture,
        rope,
        activation: "gelu-tanh",
        layerAttention: [{ kind: "sliding-window", window: gemma2TestWindow }, { kind: "full" }],
        embeddingScale: Math.fround(Math.sqrt(dim)),
        // llama.cpp's Gemma 2 scale for models other than the 27B: 1/√head_dim, as float32.
        attentionScale: Math.fround(1 / Math.sqrt(headDim)),
        attentionLogitSoftCap: 50,
        finalLogitSoftCap: 30,
      })
    : describeLlamaModel(weights, { architecture, rope });
  return writeLlamaGguf(description, loadLlama2cTokenizer(tokenizerBytes, vocabSize), { name });
}

/**
 * The greedy text the playground must show for `prompt` (BOS + prompt, then `steps` positions in
 * all, stopping at a stop token) from the GGUF's own description and tokenizer, computed in Node
 * by kvpack's plain TypeScript LlamaRuntime into a DenseKVCache of its cacheShape (Gemma 2's window
 * a ring): the page runs the kernel runtime on WASM, an independent path through the same description.
 */
export function greedyText(gguf: Uint8Array, prompt: string, steps: number): string {
  const { description, tokenizer } = loadGgufLlama(gguf);
  if (!tokenizer) throw new Error("the test GGUF has no tokenizer");
  const runtime = new LlamaRuntime(description);
  const cache = new DenseKVCache({ ...runtime.cacheShape, capacity: steps + 1 });
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
