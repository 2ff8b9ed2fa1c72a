// Test-only helper (not exported from the package): llama.cpp (node-llama-cpp, prebuilt CPU binary,
// never downloaded or built) as the oracle for GGUF files written by kvpack. Used by
// llama-cpp-conformance.test.ts and scripts/gguf-conformance.ts.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Llama, Token } from "node-llama-cpp";
import type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from "../model/llama-weights.js";
import { createDenseCache } from "../runtime/create-dense-cache.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import type { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { loadGgufLlama } from "./load-gguf-llama.js";
import { type LlamaGgufTensorType, writeLlamaGguf } from "./write-llama-gguf.js";

/** Deterministic N(0, σ²) weights (xorshift32 + Box–Muller). */
function gaussianArray(count: number, sigma: number, state: { value: number }): Float32Array {
  const next = (): number => {
    let s = state.value;
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    state.value = s >>> 0;
    return (state.value + 0.5) / 4294967296;
  };
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = sigma * Math.sqrt(-2 * Math.log(next())) * Math.cos(2 * Math.PI * next());
  return out;
}

/**
 * A random-weight Llama with widths that are whole K-quant blocks (256): dim 256, 4 heads of 64 with
 * 2 KV heads (GQA), hidden 512, 2 layers, untied classifier. Matrices are N(0, 1/fan_in) so
 * activations stay O(1); the classifier is N(0, 0.5²), giving logits of std ≈ 8 so the greedy
 * choice has a clear margin.
 */
export function randomLlamaWeights(vocabSize: number, seed = 1, chain = 0.5): LlamaWeights {
  const config: LlamaConfig = { dim: 256, hiddenDim: 512, layers: 2, heads: 4, kvHeads: 2, vocabSize, maxSequenceLength: 256, headDim: 64, ropeTheta: 10000, normEpsilon: 1e-5, sharedClassifier: false };
  const state = { value: seed >>> 0 || 1 };
  const { dim, hiddenDim } = config;
  const kvDim = config.kvHeads * config.headDim;
  const ones = (n: number) => new Float32Array(n).fill(1);
  const layers: LlamaLayerWeights[] = Array.from({ length: config.layers }, () => ({
    attentionNorm: ones(dim),
    wq: gaussianArray(dim * dim, 1 / Math.sqrt(dim), state),
    wk: gaussianArray(kvDim * dim, 1 / Math.sqrt(dim), state),
    wv: gaussianArray(kvDim * dim, 1 / Math.sqrt(dim), state),
    wo: gaussianArray(dim * dim, 1 / Math.sqrt(dim), state),
    ffnNorm: ones(dim),
    w1: gaussianArray(hiddenDim * dim, 1 / Math.sqrt(dim), state),
    w2: gaussianArray(dim * hiddenDim, 1 / Math.sqrt(hiddenDim), state),
    w3: gaussianArray(hiddenDim * dim, 1 / Math.sqrt(dim), state),
  }));
  const tokenEmbedding = gaussianArray(vocabSize * dim, 1, state);
  const classifier = gaussianArray(vocabSize * dim, 0.5, state);
  // Plus `chain` × the embedding of token (j·7 + 3) mod vocab in row j: the residual stream carries the
  // current token's embedding, so one logit stands out and the greedy choice has a margin well above
  // the engines' rounding differences (random logits alone have near-ties that any rounding flips).
  for (let j = 0; j < vocabSize; j++) {
    const source = ((j * 7 + 3) % vocabSize) * dim;
    for (let i = 0; i < dim; i++) classifier[j * dim + i] += chain * tokenEmbedding[source + i];
  }
  return { config, tokenEmbedding, layers, finalNorm: ones(dim), classifier };
}

export interface ConformanceRow {
  readonly architecture: string;
  readonly tensorType: LlamaGgufTensorType;
  readonly steps: number;
  readonly sameTokens: boolean;
  /** Max over steps and vocabulary of |Δ log-softmax(logits)| (node-llama-cpp reports probabilities, not raw logits). */
  readonly maxLogitDifference: number;
  readonly kvpackTokens: number[];
  readonly llamaCppTokens: number[];
}


/** getLlama with the prebuilt CPU binary only (build "never": nothing is downloaded or compiled). */
export async function getOracleLlama(): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  return getLlama({ gpu: false, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error });
}

/**
 * Writes `weights` as a GGUF of `tensorType`, greedy-decodes `steps` tokens after `prompt` with kvpack
 * (the file loaded by loadGgufLlama, fp32 LlamaRuntime over a dense cache) and with llama.cpp (the same
 * file), and compares the tokens and, at every step, the log-probabilities of the whole vocabulary.
 */
export async function compareWithLlamaCpp(
  llama: Llama,
  weights: LlamaWeights,
  tokenizer: SentencePieceBpeTokenizer,
  tensorType: LlamaGgufTensorType,
  prompt: readonly number[],
  steps: number,
): Promise<ConformanceRow> {
  const bytes = writeLlamaGguf(weights, tokenizer, { tensorType, name: `random-${tensorType}` });
  // kvpack
  const loaded = loadGgufLlama(bytes).weights;
  const runtime = new LlamaRuntime(loaded);
  const cache = createDenseCache(runtime);
  const kvpackTokens: number[] = [];
  const kvpackLogProbabilities: Float64Array[] = [];
  let logits: Float32Array = new Float32Array(0);
  prompt.forEach((token, position) => (logits = runtime.forward(token, position, cache)));
  for (let step = 0; step < steps; step++) {
    kvpackLogProbabilities.push(logSoftmax(logits));
    const token = argmax(logits);
    kvpackTokens.push(token);
    if (step + 1 < steps) logits = runtime.forward(token, prompt.length + step, cache);
  }
  const directory = mkdtempSync(path.join(tmpdir(), "kvpack-oracle-"));
  const llamaCppTokens: number[] = [];
  let maxLogitDifference = 0;
  let probabilitiesSeen = 0;
  try {
    const modelPath = path.join(directory, "model.gguf");
    writeFileSync(modelPath, bytes);
    const model = await llama.loadModel({ modelPath });
    const context = await model.createContext({ contextSize: 256, batchSize: 256, threads: 1 });
    try {
      const sequence = context.getSequence();
      // Teacher-forced: after each step llama.cpp is fed kvpack's token, so every step compares the
      // two engines on the same context; llama.cpp's own greedy choice is what `llamaCppTokens` records.
      const evaluation = sequence.evaluateWithMetadata([...prompt] as Token[], { probabilities: true }, { temperature: 0, topK: 0, yieldEogToken: true });
      let result = await evaluation.next();
      while (!result.done) {
        const step = llamaCppTokens.length;
        llamaCppTokens.push(result.value.token);
        const reference = kvpackLogProbabilities[step];
        probabilitiesSeen = Math.max(probabilitiesSeen, result.value.probabilities.size);
        for (const [token, probability] of result.value.probabilities) {
          // float32 probabilities below ~1e-30 lose their digits (and 0 has no log): compare the rest.
          if (probability > 1e-30) maxLogitDifference = Math.max(maxLogitDifference, Math.abs(Math.log(probability) - reference[token]));
        }
        if (llamaCppTokens.length >= steps) break;
        result = await evaluation.next(kvpackTokens[step] as Token);
      }
      await evaluation.return(undefined);
    } finally {
      await context.dispose();
      await model.dispose();
    }
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
  const sameTokens = kvpackTokens.length === llamaCppTokens.length && kvpackTokens.every((token, i) => token === llamaCppTokens[i]);
  if (probabilitiesSeen !== weights.config.vocabSize) throw new Error(`llama.cpp reported ${probabilitiesSeen} probabilities per step, expected the whole vocabulary (${weights.config.vocabSize})`);
  return { architecture: "llama", tensorType, steps, sameTokens, maxLogitDifference, kvpackTokens, llamaCppTokens };
}

function argmax(values: Float32Array): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

function logSoftmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const value of logits) max = Math.max(max, value);
  let sum = 0;
  for (const value of logits) sum += Math.exp(value - max);
  const offset = max + Math.log(sum);
  return Float64Array.from(logits, (value) => value - offset);
}
