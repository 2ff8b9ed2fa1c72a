import { describe, expect, it } from "vitest";
import { classifyModelFile, loadLlama2c, parameterCount } from "./model-loader.js";
import { PlaygroundError } from "./plain-error.js";
import { readModelsData } from "./test-models-data.js";

const bytes = (values: number[]) => Uint8Array.from(values).buffer;

describe("model files", () => {
  it("tells GGUF by its magic, ONNX by name, tokenizers by name, and treats the rest as llama2.c checkpoints", () => {
    expect(classifyModelFile({ name: "model.bin", bytes: bytes([0x47, 0x47, 0x55, 0x46, 3, 0, 0, 0]) })).toBe("gguf");
    expect(classifyModelFile({ name: "decoder_model_merged.onnx", bytes: bytes([8, 8]) })).toBe("onnx");
    expect(classifyModelFile({ name: "tok512.bin", bytes: bytes([7, 0, 0, 0]) })).toBe("llama2c-tokenizer");
    expect(classifyModelFile({ name: "stories15M.bin", bytes: bytes([0, 1, 0, 0]) })).toBe("llama2c-checkpoint");
  });

  it("loads stories260K with the bundled tokenizer as a fallback, and asks for a tokenizer when the vocabulary differs", () => {
    const checkpoint = { name: "stories260K.bin", bytes: readModelsData("stories260K.bin") };
    const tokenizer = { name: "tok512.bin", bytes: readModelsData("tok512.bin") };
    const model = loadLlama2c(checkpoint, undefined, tokenizer);
    expect(model.name).toBe("stories260K");
    // stories260K.reference.json config: dim 64, hidden 172, 5 layers, 8 heads, 4 KV heads, vocab 512.
    expect(model.weights.config).toMatchObject({ dim: 64, hiddenDim: 172, layers: 5, heads: 8, kvHeads: 4, vocabSize: 512 });
    // Exact count from the llama2.c layout: embedding 512·64 (shared classifier), per layer 2·64 norms +
    // 64·64 (wq) + 2·32·64 (wk, wv) + 64·64 (wo) + 3·172·64 (w1, w2, w3), and the final norm 64.
    expect(parameterCount(model.weights)).toBe(512 * 64 + 5 * (2 * 64 + 64 * 64 + 2 * 32 * 64 + 64 * 64 + 3 * 172 * 64) + 64);
    expect(() => loadLlama2c(checkpoint, undefined, undefined)).toThrow(PlaygroundError);
  });
});
