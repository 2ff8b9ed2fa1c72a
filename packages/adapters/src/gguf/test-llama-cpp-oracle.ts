// Test-only helper (not exported from the package): llama.cpp (node-llama-cpp, prebuilt CPU binary,
// never downloaded or built) as the oracle for GGUF files written by kvpack. Used by
// llama-cpp-conformance.test.ts (random models of each architecture: test-architecture-models.ts).
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import type { Llama, Token } from "node-llama-cpp";
import type { LlamaModelDescription } from "../model/llama-model-description.js";
import type { LlamaWeights } from "../model/llama-weights.js";
import { createDenseCache } from "../runtime/create-dense-cache.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import type { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { loadGgufLlama } from "./load-gguf-llama.js";
import { type LlamaGgufTensorType, writeLlamaGguf } from "./write-llama-gguf.js";

export interface ConformanceRow {
  readonly architecture: string;
  readonly tensorType: LlamaGgufTensorType;
  readonly steps: number;
  readonly sameTokens: boolean;
  /** Max over steps and vocabulary of |Δ log-softmax(logits)| (node-llama-cpp reports probabilities, not raw logits). */
  readonly maxLogitDifference: number;
  readonly kvpackTokens: number[];
  readonly llamaCppTokens: number[];
  /**
   * Steps where the greedy choices differ, with kvpack's log-prob margin of its own choice over
   * llama.cpp's there (≥ 0). A difference of at most maxLogitDifference per log-prob can only swap
   * two candidates whose margin is ≤ 2 × maxLogitDifference: a near tie, decided by rounding.
   */
  readonly disagreements: { readonly step: number; readonly margin: number }[];
}


/** getLlama with the prebuilt CPU binary only (build "never": nothing is downloaded or compiled). */
export async function getOracleLlama(): Promise<Llama> {
  const { getLlama, LlamaLogLevel } = await import("node-llama-cpp");
  return getLlama({ gpu: false, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error });
}

/**
 * Writes `model` (bare Llama weights or a description of any supported architecture) as a GGUF of
 * `tensorType`, greedy-decodes `steps` tokens after `prompt` with kvpack (the file loaded by
 * loadGgufLlama, fp32 LlamaRuntime over the dense cache its cacheShape asks for: sliding windows
 * included) and with llama.cpp (the same file), and compares the tokens and, at every step, the
 * log-probabilities of the whole vocabulary.
 */
export async function compareWithLlamaCpp(
  llama: Llama,
  model: LlamaWeights | LlamaModelDescription,
  tokenizer: SentencePieceBpeTokenizer,
  tensorType: LlamaGgufTensorType,
  prompt: readonly number[],
  steps: number,
): Promise<ConformanceRow> {
  const bytes = writeLlamaGguf(model, tokenizer, { tensorType, name: `random-${tensorType}` });
  const weights = "weights" in model ? model.weights : model;
  const architecture = "weights" in model ? model.architecture : "llama";
  // kvpack
  const loaded = loadGgufLlama(bytes);
  if (loaded.description.architecture !== architecture) throw new Error(`loadGgufLlama read ${loaded.description.architecture}, wrote ${architecture}`);
  const runtime = new LlamaRuntime(loaded.description);
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
  const disagreements = llamaCppTokens.flatMap((token, step) =>
    token === kvpackTokens[step] ? [] : [{ step, margin: kvpackLogProbabilities[step][kvpackTokens[step]] - kvpackLogProbabilities[step][token] }],
  );
  if (probabilitiesSeen !== weights.config.vocabSize) throw new Error(`llama.cpp reported ${probabilitiesSeen} probabilities per step, expected the whole vocabulary (${weights.config.vocabSize})`);
  return { architecture, tensorType, steps, sameTokens, maxLogitDifference, kvpackTokens, llamaCppTokens, disagreements };
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
