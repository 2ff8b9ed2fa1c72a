import { SeededRandom, type LlamaConfig, type LlamaWeights } from "@kvpack/adapters";

/** Test-only: seeded random Llama weights (llama2.c layout), scaled so activations stay O(1). */
export function randomLlamaWeights(config: LlamaConfig, seed: number): LlamaWeights {
  const random = new SeededRandom(seed);
  const values = (count: number, scale: number, offset = 0) => Float32Array.from({ length: count }, () => offset + scale * (2 * random.nextFloat() - 1));
  const { dim, hiddenDim, heads, kvHeads, headDim, vocabSize } = config;
  const matrix = (rows: number, columns: number) => values(rows * columns, 1 / Math.sqrt(columns));
  const tokenEmbedding = values(vocabSize * dim, 1);
  return {
    config,
    tokenEmbedding,
    layers: Array.from({ length: config.layers }, () => ({
      attentionNorm: values(dim, 0.1, 1),
      wq: matrix(heads * headDim, dim),
      wk: matrix(kvHeads * headDim, dim),
      wv: matrix(kvHeads * headDim, dim),
      wo: matrix(dim, heads * headDim),
      ffnNorm: values(dim, 0.1, 1),
      w1: matrix(hiddenDim, dim),
      w2: matrix(dim, hiddenDim),
      w3: matrix(hiddenDim, dim),
    })),
    finalNorm: values(dim, 0.1, 1),
    classifier: config.sharedClassifier ? tokenEmbedding : matrix(vocabSize, dim),
  };
}
