import { describe, expect, it } from "vitest";
import { createDenseCache } from "../runtime/create-dense-cache.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import { type ModelReference, readModelsData, readModelsDataJson, readTinyStories } from "../model/test-models-data.js";
import { loadLlama2cCheckpoint } from "./load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "./load-llama2c-tokenizer.js";

const cases = [
  { model: "stories260K.bin", tokenizer: "tok512.bin", reference: "stories260K.reference.json" },
  { model: "babyllama-tok105-model5000.bin", tokenizer: "tok105.bin", reference: "babyllama-tok105-model5000.reference.json" },
];

describe.each(cases)("llama2.c $model", ({ model, tokenizer: tokenizerFile, reference: referenceFile }) => {
  const reference = readModelsDataJson<ModelReference>(referenceFile);
  const weights = loadLlama2cCheckpoint(readModelsData(model));
  const tokenizer = loadLlama2cTokenizer(readModelsData(tokenizerFile), weights.config.vocabSize);

  it("reads the header into the config of the reference JSON", () => {
    const c = reference.config;
    expect(weights.config).toMatchObject({ dim: c.dim, hiddenDim: c.hid, layers: c.nl, heads: c.nh, kvHeads: c.nkv, vocabSize: c.vs, maxSequenceLength: c.sl, headDim: c.hs });
  });

  it("encodes the prompt to prompt_token_ids", () => {
    expect(tokenizer.encode(reference.prompt, { bos: true })).toEqual(reference.prompt_token_ids);
  });

  it("encodes validation story 1 to val_story_1.token_ids (first n_tokens)", () => {
    const story = readTinyStories()[1];
    const ids = tokenizer.encode(story, { bos: true }).slice(0, reference.val_story_1.n_tokens);
    expect(ids).toEqual(reference.val_story_1.token_ids);
  });

  it("reproduces the last-position prompt logits within 1e-4 and the greedy ids and text", () => {
    const runtime = new LlamaRuntime(weights);
    const cache = createDenseCache(runtime);
    const prompt = reference.prompt_token_ids;
    let logits: Float32Array = new Float32Array(0);
    for (let position = 0; position < prompt.length; position++) logits = runtime.forward(prompt[position], position, cache);
    // Reference logits come from a float64 re-implementation of run.c; 1e-4 absolute per the task.
    const expected = reference.last_position_logits_for_prompt;
    let worst = 0;
    for (let i = 0; i < expected.length; i++) worst = Math.max(worst, Math.abs(logits[i] - expected[i]));
    expect(worst).toBeLessThan(1e-4);

    // run.c -t 0: argmax after each prompt/generated token until `steps` positions.
    const ids = [...prompt];
    let token = ids[ids.length - 1];
    for (let position = prompt.length; position < reference.steps + 1; position++) {
      let best = 0;
      for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
      ids.push(best);
      token = best;
      if (position < reference.steps) logits = runtime.forward(token, position, cache);
    }
    expect(ids).toEqual(reference.greedy_token_ids);
    expect(tokenizer.decode(ids)).toBe(reference.greedy_text);
  });
});

describe("llama2.c loader errors", () => {
  const bytes = readModelsData("stories260K.bin");

  it("names the tensor and sizes when the checkpoint is truncated", () => {
    // stories260K (dim 64, vocab 512, 5 layers): header 28 B + embedding 512·64·4 B + 5 rms_att of 256 B = 132,380 B,
    // then each wq is 64·64·4 = 16,384 B, so layer 1 wq ends at 132,380 + 2·16,384 = 165,148 B > 150,000.
    const truncated = bytes.slice(0, 150_000);
    expect(() => loadLlama2cCheckpoint(truncated)).toThrowError(
      "llama2.c checkpoint truncated: expected 165148 bytes for layer 1 wq, file has 150000",
    );
  });

  it("rejects a header with a zero dimension and a non-finite weight", () => {
    const badHeader = bytes.slice();
    new DataView(badHeader.buffer).setInt32(0, 0, true);
    expect(() => loadLlama2cCheckpoint(badHeader)).toThrowError(/dim must be positive, got 0/);
    const nan = bytes.slice();
    new DataView(nan.buffer).setFloat32(28 + 4 * 10, Number.NaN, true);
    expect(() => loadLlama2cCheckpoint(nan)).toThrowError(/token embedding holds a non-finite value \(NaN\) at element 10/);
  });

  it("rejects a tokenizer file that ends early", () => {
    const tokenizer = readModelsData("tok512.bin");
    expect(() => loadLlama2cTokenizer(tokenizer.subarray(0, 100), 512)).toThrowError(/llama2.c tokenizer truncated: expected \d+ bytes for the (score and length|text) of token \d+ of 512, file has 100/);
  });
});
