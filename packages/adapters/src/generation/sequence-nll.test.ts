import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { type ModelReference, readModelsData, readModelsDataJson, readTinyStories } from "../model/test-models-data.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import { corpusNll, sequenceNll } from "./sequence-nll.js";

describe.each([
  { model: "stories260K.bin", tokenizer: "tok512.bin", reference: "stories260K.reference.json" },
  { model: "babyllama-tok105-model5000.bin", tokenizer: "tok105.bin", reference: "babyllama-tok105-model5000.reference.json" },
])("sequenceNll $model", ({ model, reference: referenceFile }) => {
  it("matches the reference mean NLL of validation story 1", () => {
    const reference = readModelsDataJson<ModelReference>(referenceFile);
    const runtime = new LlamaRuntime(loadLlama2cCheckpoint(readModelsData(model)));
    const result = sequenceNll(runtime, reference.val_story_1.token_ids);
    expect(result.predictedTokens).toBe(reference.val_story_1.n_tokens - 1);
    // Reference: float64 run.c re-implementation; fp32 activations here, so 1e-4 nats absolute.
    expect(Math.abs(result.meanNll - reference.val_story_1.mean_nll)).toBeLessThan(1e-4);
  });
});

describe("corpusNll", () => {
  it("scores validation stories 1–10 of stories260K near the 200-story perplexity 3.62", () => {
    const weights = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
    const tokenizer = loadLlama2cTokenizer(readModelsData("tok512.bin"), weights.config.vocabSize);
    const runtime = new LlamaRuntime(weights);
    const stories = readTinyStories().slice(1, 11).map((story) => tokenizer.encode(story, { bos: true }).slice(0, weights.config.maxSequenceLength));
    const result = corpusNll(runtime, stories);
    expect(result.predictedTokens).toBe(stories.reduce((sum, ids) => sum + ids.length - 1, 0));
    // SOURCES.md: 3.62 over stories 1–200, each cut to the 512-token context (scripts/perplexity.ts reproduces it:
    // 3.6179). A 10-story subset has no published reference (measured here: 3.348 over 3,398 tokens), so this is
    // a loose guard (3.0–4.0) that keeps the unit test fast on 2 cores.
    expect(result.perplexity).toBeGreaterThan(3.0);
    expect(result.perplexity).toBeLessThan(4.0);
  });
});
