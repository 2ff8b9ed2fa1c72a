import { describe, expect, it } from "vitest";
import { generateText } from "../generation/generate.js";
import { argmax } from "../generation/sampler.js";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { ModelArgumentError } from "../model/model-format-error.js";
import { type ModelReference, readModelsData, readModelsDataJson } from "../model/test-models-data.js";
import { promptLogits } from "../runtime/test-prompt-logits.js";
import { SentencePieceBpeTokenizer } from "../tokenizers/sentencepiece-bpe-tokenizer.js";
import { GgmlType } from "./gguf-types.js";
import { loadGgufLlama } from "./load-gguf-llama.js";
import { loadGgufLlamaModel } from "./load-gguf-llama-model.js";
import { type LlamaGgufTensorType, writeLlamaGguf } from "./write-llama-gguf.js";

const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const llama2c = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const tok512 = loadLlama2cTokenizer(readModelsData("tok512.bin"), llama2c.config.vocabSize);

describe("writeLlamaGguf", () => {
  it("F32 round trip: loadGgufLlamaModel gives the same weights and greedy-decodes the reference ids", async () => {
    const bytes = writeLlamaGguf(llama2c, tok512, { name: "stories260K" });
    const { weights, tokenizer, runtime } = await loadGgufLlamaModel(bytes);
    expect(weights.config).toEqual(llama2c.config);
    // F32 is stored bit for bit.
    expect(weights.tokenEmbedding).toEqual(llama2c.tokenEmbedding);
    expect(weights.layers[4].wk).toEqual(llama2c.layers[4].wk);
    expect(weights.layers[4].w2).toEqual(llama2c.layers[4].w2);
    // The embedded vocabulary reads back as the llama2.c pieces (spaces, not "▁"), with bare special pieces.
    if (!(tokenizer instanceof SentencePieceBpeTokenizer)) throw new Error("expected the SentencePiece tokenizer");
    expect(tokenizer.piece(1)).toBe("<s>");
    expect(tokenizer.piece(300)).toBe(tok512.piece(300));
    expect(tokenizer.score(300)).toBe(tok512.score(300));
    // stories260K.reference.json: greedy_token_ids are the prompt ids followed by `steps` generated ids in total.
    const steps = reference.steps + 1 - reference.prompt_token_ids.length;
    const { tokens, text } = await generateText(runtime, tokenizer, reference.prompt, { temperature: 0, maxTokens: steps });
    expect([...reference.prompt_token_ids, ...tokens]).toEqual(reference.greedy_token_ids);
    expect(reference.prompt + text).toBe(reference.greedy_text);
  });

  it("writes general.name only when given", () => {
    expect(loadGgufLlama(writeLlamaGguf(llama2c, tok512, { name: "tiny" })).file.metadata.get("general.name")).toBe("tiny");
    expect(loadGgufLlama(writeLlamaGguf(llama2c, tok512)).file.metadata.has("general.name")).toBe(false);
  });

  it.each(["F16", "Q8_0"] as const)("%s matrices load with F32 norms and predict the reference's next token", (type: LlamaGgufTensorType) => {
    const { weights, file } = loadGgufLlama(writeLlamaGguf(llama2c, tok512, { tensorType: type }));
    expect(weights.config).toEqual(llama2c.config);
    expect(file.tensors.get("blk.0.attn_q.weight")?.type).toBe(GgmlType[type]);
    expect(file.tensors.get("token_embd.weight")?.type).toBe(GgmlType[type]);
    expect(file.tensors.get("blk.0.attn_norm.weight")?.type).toBe(GgmlType.F32);
    expect(weights.layers[0].attentionNorm).toEqual(llama2c.layers[0].attentionNorm);
    const logits = promptLogits(weights, reference.prompt_token_ids);
    // The reference's first generated id: F16/Q8_0 rounding moves logits by ≤ 0.14 (gguf.test.ts), below the top-1 margin.
    expect(argmax(logits)).toBe(reference.greedy_token_ids[reference.prompt_token_ids.length]);
  });

  it("writes output.weight for an untied classifier and reads it back", () => {
    const classifier = llama2c.classifier.map((value) => -value);
    const untied = { ...llama2c, config: { ...llama2c.config, sharedClassifier: false }, classifier };
    const { weights, file } = loadGgufLlama(writeLlamaGguf(untied, tok512));
    expect(file.has("output.weight")).toBe(true);
    expect(weights.config.sharedClassifier).toBe(false);
    expect(weights.classifier).toEqual(classifier);
  });

  it("refuses a tokenizer of another size and an unknown tensor type", () => {
    const small = new SentencePieceBpeTokenizer({ pieces: ["<unk>", "<s>", "</s>"], scores: new Float32Array(3) });
    expect(() => writeLlamaGguf(llama2c, small)).toThrowError(/the tokenizer has 3 tokens but the model's vocabSize is 512/);
    const unknownType = () => writeLlamaGguf(llama2c, tok512, { tensorType: "Q8_K" as LlamaGgufTensorType });
    expect(unknownType).toThrowError(/tensorType must be one of F32, F16, BF16, Q8_0, .*IQ4_XS, got "Q8_K"/);
    expect(unknownType).toThrow(ModelArgumentError);
  });
});
