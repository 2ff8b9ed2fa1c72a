import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Llama } from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { readModelsData } from "../model/test-models-data.js";
import { type ConformanceRow, compareWithLlamaCpp, getOracleLlama, randomLlamaWeights } from "./test-llama-cpp-oracle.js";
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
// Measured on this model (dim 256, 2 layers, 64 steps, log-probs spanning ~60): max |Δ| = 47u to 85u
// for every type; the tolerance is 150u, under 2× the worst.
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
// ~1–2 s per type (llama.cpp on one thread: two spinning threads on a busy 2-core machine take 10× longer).
// `pnpm --filter @kvpack/adapters run conformance:gguf` runs this file and writes bench-results/gguf-conformance.json.
const output = process.env.KVPACK_GGUF_CONFORMANCE_OUT;

describe("GGUF files written by kvpack, decoded by kvpack and by llama.cpp (node-llama-cpp 3.21.1)", () => {
  let llama: Llama;
  const rows: ConformanceRow[] = [];
  const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), 512);
  const weights = randomLlamaWeights(512);

  beforeAll(async () => {
    llama = await getOracleLlama();
  });

  afterAll(() => {
    if (!output || rows.length !== allTypes.length) return;
    mkdirSync(path.dirname(output), { recursive: true });
    const table = rows.map(({ architecture, tensorType, steps, sameTokens, maxLogitDifference }) => ({ architecture, tensorType, steps, sameTokens, maxLogitDifference: Number(maxLogitDifference.toPrecision(4)), tolerance: Number((150 * activationRounding[tensorType]).toPrecision(3)) }));
    writeFileSync(output, `${JSON.stringify({ model: "random-weight llama, dim 256, 4 heads (2 KV) of 64, hidden 512, 2 layers, vocab 512 (tok512)", oracle: "node-llama-cpp 3.21.1 prebuilt CPU", maxLogitDifference: "max over 64 teacher-forced steps and the vocabulary of |Δ log-softmax|", rows: table }, null, 2)}\n`);
  });

  it.each(allTypes)("%s: 64 greedy steps give the same tokens and log-probs within 150 × the activation rounding", async (tensorType) => {
    const row = await compareWithLlamaCpp(llama, weights, tokenizer, tensorType, [1, 100, 200, 300], 64);
    rows.push(row);
    expect(row.llamaCppTokens).toEqual(row.kvpackTokens);
    expect(row.maxLogitDifference).toBeLessThan(150 * activationRounding[tensorType]);
    // …and the comparison is live: llama.cpp's log-probs are not bit-identical to kvpack's fp32 ones.
    expect(row.maxLogitDifference).toBeGreaterThan(0);
  });
});
