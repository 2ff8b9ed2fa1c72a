import { describe, expect, it } from "vitest";
import type { LlamaArchitecture } from "../model/llama-model-description.js";
import { createDenseCache } from "../runtime/create-dense-cache.js";
import { LlamaRuntime } from "../runtime/llama-runtime.js";
import { loadModelFolder } from "./load-model-folder.js";
import { randomFolder } from "./test-random-checkpoints.js";
import { jsonBytes } from "./test-model-folders.js";
import { writeHuggingFaceCheckpoint } from "./write-hugging-face-checkpoint.js";

describe("writeHuggingFaceCheckpoint: the inverse of loadModelFolder's reading", () => {
  it.each(["llama", "qwen2", "qwen3", "phi3", "gemma2"] as const)("%s: written and read back gives the same description and logits", async (architecture: LlamaArchitecture) => {
    const first = await loadModelFolder(randomFolder(architecture));
    if (first.weights.kind !== "llama") throw new Error("expected Llama-family weights");
    const { file, config } = writeHuggingFaceCheckpoint(first.weights.description);
    const files = randomFolder(architecture);
    files.set("config.json", jsonBytes(config));
    files.set("model.safetensors", file);
    const second = await loadModelFolder(files);
    if (second.weights.kind !== "llama") throw new Error("expected Llama-family weights");
    const [a, b] = [first.weights.description, second.weights.description];
    expect(b.architecture).toBe(architecture);
    expect(b.layerAttention).toEqual(a.layerAttention);
    expect(b.rope).toEqual(a.rope);
    expect([b.embeddingScale, b.attentionScale, b.attentionLogitSoftCap, b.finalLogitSoftCap, b.activation]).toEqual([a.embeddingScale, a.attentionScale, a.attentionLogitSoftCap, a.finalLogitSoftCap, a.activation]);
    // Gemma norms go through w = factor − 1 and back: within one float32 rounding of the factor.
    b.weights.layers.forEach((layer, index) => {
      for (const [name, values] of Object.entries(layer)) {
        const expected = (a.weights.layers[index] as unknown as Record<string, Float32Array>)[name];
        values.forEach((value: number, i: number) => expect(Math.abs(value - expected[i])).toBeLessThanOrEqual(architecture === "gemma2" ? 1.2e-7 : 0));
      }
    });
    // The forward loop runs every architecture: same logits on both descriptions (Gemma: within 1e-5).
    const run = (description: typeof a) => {
      const runtime = new LlamaRuntime(description);
      const cache = createDenseCache(runtime);
      let logits = new Float32Array(0);
      for (const [position, token] of [1, 403, 407, 261, 378].entries()) logits = runtime.forward(token, position, cache).slice();
      return logits;
    };
    const [la, lb] = [run(a), run(b)];
    lb.forEach((value, i) => expect(Math.abs(value - la[i])).toBeLessThanOrEqual(architecture === "gemma2" ? 1e-5 : 0));
  });
});
