import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { readModelsData } from "../model/test-models-data.js";
import { type LlamaArchitecture, llamaArchitectures } from "../model/llama-model-description.js";
import { randomArchitectureModel } from "./test-architecture-models.js";
import { type ConformanceRow, compareWithLlamaCpp, getOracleLlama } from "./test-llama-cpp-oracle.js";
import type { LlamaGgufTensorType } from "./write-llama-gguf.js";

// Both engines multiply by the same dequantized weights, so the weight format's own rounding cancels
// out; what differs is how llama.cpp rounds the *activations* before each product (ggml's vec_dot_type
// of the weight type) and its F16 KV cache. The log-probability difference therefore scales with
// that activation format's relative rounding u, measured against a block's RMS:
//   F32 weights: fp32 products, F16 KV cache        u = 2^-11
//   F16: activations rounded to fp16                u = 2^-11
//   BF16: activations rounded to bf16               u = 2^-8
//   Q4_0/Q4_1/Q5_0/Q5_1/Q8_0/IQ4_NL: Q8_0 activations, 8-bit absmax per 32: half a step is
//        max/254 and max ≈ 2.5·RMS for 32 normal values, so u = 2.5/254
//   Q2_K…Q6_K, IQ4_XS: Q8_K activations, 8-bit absmax per 256, max ≈ 3·RMS: u = 3/254
// Measured on the plain Llama (dim 256, 2 layers, 64 steps, log-probs spanning ~60): max |Δ| = 47u to 85u
// for every type. On the five architectures' models (test-architecture-models.ts) the worst is 98u
// (qwen3, Q2_K) and 72u for F32 (qwen2); Gemma 2's soft-capped logits (|logit| < 15) give ~10× less.
// The tolerance stays 150u, ≥ 1.5× the worst.
const activationRounding: Record<LlamaGgufTensorType, number> = {
  F32: 2 ** -11,
  F16: 2 ** -11,
  BF16: 2 ** -8,
  Q4_0: 2.5 / 254,
  Q4_1: 2.5 / 254,
  Q5_0: 2.5 / 254,
  Q5_1: 2.5 / 254,
  Q8_0: 2.5 / 254,
  IQ4_NL: 2.5 / 254,
  Q2_K: 3 / 254,
  Q3_K: 3 / 254,
  Q4_K: 3 / 254,
  Q5_K: 3 / 254,
  Q6_K: 3 / 254,
  IQ4_XS: 3 / 254,
};
const allTypes = Object.keys(activationRounding) as LlamaGgufTensorType[];
// ~1–4 s per architecture × type, ~2 min in all (llama.cpp on one thread: two spinning threads on a busy 2-core machine take 10× longer).
// `pnpm --filter @kvpack/adapters run conformance:gguf` runs this file and writes bench-results/gguf-conformance.json.
const output = process.env.KVPACK_GGUF_CONFORMANCE_OUT;

const cases: [LlamaArchitecture, LlamaGgufTensorType][] = llamaArchitectures.flatMap((architecture) => allTypes.map((type) => [architecture, type] as [LlamaArchitecture, LlamaGgufTensorType]));

describe("GGUF files written by kvpack, decoded by kvpack and by llama.cpp (node-llama-cpp 3.21.1)", () => {
  let llama: Llama;
  const rows: ConformanceRow[] = [];
  const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
  const models = new Map(llamaArchitectures.map((architecture) => [architecture, randomArchitectureModel(architecture, 512)]));

  beforeAll(async () => {
    llama = await getOracleLlama();
  });

  afterAll(() => {
    if (!output || rows.length !== cases.length) return;
    mkdirSync(path.dirname(output), { recursive: true });
    const table = rows.map(({ architecture, tensorType, steps, sameTokens, disagreements, maxLogitDifference }) => ({ architecture, tensorType, steps, sameTokens, nearTies: disagreements.length, maxLogitDifference: Number(maxLogitDifference.toPrecision(4)), tolerance: Number((150 * activationRounding[tensorType]).toPrecision(3)) }));
    const model = "random-weight models (test-architecture-models.ts), 2 layers, dim 256, hidden 512, vocab 512 (tok512): llama = Llama 3.2 layout (4 heads / 2 KV of 64, θ 500000, llama3 RoPE scaling as rope_freqs), qwen2 = Qwen2.5 (4 / 1 KV of 64, q/k/v biases, NeoX), qwen3 = Qwen3 (4 / 2 KV of 128, q/k norms), phi3 = Phi-3 mini (4 / 4 of 64, fused attn_qkv and gate+up), gemma2 = Gemma 2 (2 / 1 KV of 256, tied, sandwich norms, GeGLU, √dim embedding, layer 0 sliding window 16, soft caps 2 / 15)";
    writeFileSync(output, `${JSON.stringify({ model, oracle: "node-llama-cpp 3.21.1 prebuilt CPU", maxLogitDifference: "max over 64 teacher-forced steps and the vocabulary of |Δ log-softmax|", rows: table }, null, 2)}\n`);
  });

  it.each(cases)("%s %s: 64 greedy steps give the same tokens (near ties aside) and log-probs within 150 × the activation rounding", async (architecture, tensorType) => {
    const row = await compareWithLlamaCpp(llama, models.get(architecture)!, tokenizer, tensorType, [1, 100, 200, 300], 64);
    rows.push(row);
    expect(row.architecture).toBe(architecture);
    expect(row.llamaCppTokens.length).toBe(64);
    expect(row.maxLogitDifference).toBeLessThan(150 * activationRounding[tensorType]);
    // Same greedy tokens, except where two candidates are a near tie that the measured difference can
    // swap (margin ≤ 2 × maxLogitDifference); on this machine every row has none. Teacher forcing
    // keeps the steps after a swap comparable.
    for (const { step, margin } of row.disagreements) {
      expect(margin, `step ${step}: kvpack ${row.kvpackTokens[step]}, llama.cpp ${row.llamaCppTokens[step]}`).toBeLessThanOrEqual(2 * row.maxLogitDifference);
    }
    expect(row.disagreements.length, "greedy choices that differ").toBeLessThanOrEqual(2);
    // …and the comparison is live: llama.cpp's log-probs are not bit-identical to kvpack's fp32 ones.
    expect(row.maxLogitDifference).toBeGreaterThan(0);
  });
});
