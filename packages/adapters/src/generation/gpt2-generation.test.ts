import { describe, expect, it } from "vitest";
import type { Gpt2LayerWeights, Gpt2Weights } from "../model/gpt2-weights.js";
import { readModelsData } from "../model/test-models-data.js";
import { Gpt2Runtime } from "../runtime/gpt2-runtime.js";
import type { LanguageModelRuntime } from "../runtime/language-model-runtime.js";
import { DenseKVCache } from "@kvpack/cache";
import { loadGpt2Tokenizer } from "../tokenizers/gpt2-bpe-tokenizer.js";
import { generate } from "./generate.js";
import { SeededRandom } from "./seeded-random.js";

// A random GPT-2 over the real 50,257-token vocabulary, sampled end to end through the byte-level tokenizer.
const dim = 8;
const hidden = 32;
const positions = 48;
const vocabSize = 50257;
const random = new SeededRandom(9);
const values = (count: number, scale: number, offset = 0): Float32Array => Float32Array.from({ length: count }, () => offset + scale * (2 * random.nextFloat() - 1));
const layer = (): Gpt2LayerWeights => ({
  attentionNormWeight: values(dim, 0.1, 1),
  attentionNormBias: values(dim, 0.1),
  wq: values(dim * dim, 0.5),
  wk: values(dim * dim, 0.5),
  wv: values(dim * dim, 0.5),
  bq: values(dim, 0.1),
  bk: values(dim, 0.1),
  bv: values(dim, 0.1),
  wo: values(dim * dim, 0.5),
  bo: values(dim, 0.1),
  ffnNormWeight: values(dim, 0.1, 1),
  ffnNormBias: values(dim, 0.1),
  wUp: values(hidden * dim, 0.5),
  bUp: values(hidden, 0.1),
  wDown: values(dim * hidden, 0.5),
  bDown: values(dim, 0.1),
});
const weights: Gpt2Weights = {
  config: { dim, hiddenDim: hidden, layers: 1, heads: 2, headDim: dim / 2, vocabSize, maxSequenceLength: positions, normEpsilon: 1e-5 },
  tokenEmbedding: values(vocabSize * dim, 1),
  positionEmbedding: values(positions * dim, 0.3),
  layers: [layer()],
  finalNormWeight: values(dim, 0.1, 1),
  finalNormBias: values(dim, 0.1),
};

describe("generate with GPT-2", () => {
  it("streams text whose concatenation equals decoding all generated tokens at once", async () => {
    const tokenizer = loadGpt2Tokenizer(readModelsData("gpt2-encoder.json"), readModelsData("gpt2-vocab.bpe"));
    const runtime = new Gpt2Runtime(weights);
    for (const seed of [1, 2, 3]) {
      const tokens: number[] = [];
      let text = "";
      for await (const step of generate(runtime, tokenizer, "Hello world", { temperature: 1, seed, bos: false })) {
        tokens.push(step.token);
        text += step.text;
      }
      // The prompt has 2 tokens and the default limit fills the 48-position context.
      expect(tokens.length).toBeLessThanOrEqual(positions - 2);
      expect(tokens.length).toBeGreaterThan(0);
      expect(text).toBe(tokenizer.decode(tokens));
    }
  });
});

describe("streaming text of multi-byte characters", () => {
  it("never emits half a character when a character's bytes span several tokens", async () => {
    const tokenizer = loadGpt2Tokenizer(readModelsData("gpt2-encoder.json"), readModelsData("gpt2-vocab.bpe"));
    const script = tokenizer.encode(" naïve 你好 🙂 done");
    // GPT-2 spells "你", "好" and "🙂" with byte tokens that are not valid UTF-8 alone.
    expect(script.some((id) => new TextDecoder().decode(tokenizer.tokenBytes(-1, id)).includes("\uFFFD"))).toBe(true);
    // A scripted model: its logits put all mass on the next token of `script`, so greedy decoding replays it.
    let step = 0;
    const logits = new Float32Array(tokenizer.vocabSize);
    const scripted: LanguageModelRuntime = {
      architecture: "gpt2",
      vocabSize: tokenizer.vocabSize,
      maxSequenceLength: 64,
      heads: 1,
      cacheShape: { layers: 1, kvHeads: 1, headDim: 1 },
      observer: undefined,
      forward: () => {
        logits.fill(0);
        logits[step < script.length ? script[step] : tokenizer.eosId] = 1;
        step++;
        return logits;
      },
    };
    const chunks: string[] = [];
    const cache = new DenseKVCache({ layers: 1, kvHeads: 1, headDim: 1, capacity: 64 });
    for await (const generated of generate(scripted, tokenizer, [tokenizer.bosId], { temperature: 0, cache })) chunks.push(generated.text);
    expect(chunks.join("")).toBe(" naïve 你好 🙂 done");
    expect(chunks.some((chunk) => chunk.includes("\uFFFD"))).toBe(false);
    expect(chunks).toHaveLength(script.length);
  });
});
