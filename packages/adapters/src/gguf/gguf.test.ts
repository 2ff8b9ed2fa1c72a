import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { type ModelReference, readModelsData, readModelsDataJson } from "../model/test-models-data.js";
import { maxAbsoluteDifference, promptLogits } from "../runtime/test-prompt-logits.js";
import { dequantizeGgml } from "./ggml-dequantize.js";
import { GgufFile } from "./gguf-file.js";
import { quantizeQ4_0, quantizeQ8_0, writeGguf } from "./gguf-writer.js";
import { loadGgufLlama } from "./load-gguf-llama.js";
import { loadGgufLlamaModel } from "./load-gguf-llama-model.js";
import { writeLlamaGguf } from "./write-llama-gguf.js";
import { generateText } from "../generation/generate.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";

const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const llama2c = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));
const tok512 = loadLlama2cTokenizer(readModelsData("tok512.bin"), llama2c.config.vocabSize);

describe("GGUF Llama", () => {
  it("F32 file reproduces the config, the embedded tokenizer's prompt ids and the reference logits within 1e-4", () => {
    const { weights, tokenizer } = loadGgufLlama(writeLlamaGguf(llama2c, tok512, { name: "stories260K", tensorType: "F32" }));
    expect(weights.config).toEqual(llama2c.config);
    expect(tokenizer).toBeDefined();
    // stories260K.reference.json prompt_token_ids and greedy_text decode through the GGUF vocabulary.
    expect(tokenizer!.encode(reference.prompt, { bos: true })).toEqual(reference.prompt_token_ids);
    expect(tokenizer!.decode(reference.greedy_token_ids)).toBe(reference.greedy_text);
    expect(maxAbsoluteDifference(promptLogits(weights, reference.prompt_token_ids), reference.last_position_logits_for_prompt)).toBeLessThan(1e-4);
  });

  it("loads from a file path and greedy-decodes the reference text with the embedded tokenizer", async () => {
    const directory = mkdtempSync(path.join(tmpdir(), "kvpack-gguf-"));
    try {
      const file = path.join(directory, "stories260K.gguf");
      writeFileSync(file, writeLlamaGguf(llama2c, tok512, { name: "stories260K", tensorType: "F32" }));
      const { runtime, tokenizer } = await loadGgufLlamaModel(file);
      const steps = reference.steps + 1 - reference.prompt_token_ids.length;
      const { tokens, text } = await generateText(runtime, tokenizer, reference.prompt, { temperature: 0, maxTokens: steps });
      expect([...reference.prompt_token_ids, ...tokens]).toEqual(reference.greedy_token_ids);
      expect(reference.prompt + text).toBe(reference.greedy_text);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it.each([
    // Every matrix (embedding/classifier included) is rounded. Measured max |Δlogit| vs the reference (logits of
    // magnitude ~10): F16 0.0068, Q8_0 0.14, Q4_0 2.8 (4-bit weights on a 260K model); bounds ~3x the measurement.
    { type: "F16" as const, tolerance: 0.02 },
    { type: "Q8_0" as const, tolerance: 0.4 },
    { type: "Q4_0" as const, tolerance: 8 },
  ])("$type matrices dequantize to logits near the reference", ({ type, tolerance }) => {
    const { weights } = loadGgufLlama(writeLlamaGguf(llama2c, tok512, { name: "stories260K", tensorType: type }));
    const difference = maxAbsoluteDifference(promptLogits(weights, reference.prompt_token_ids), reference.last_position_logits_for_prompt);
    expect(difference).toBeLessThan(tolerance);
    expect(difference).toBeGreaterThan(0);
  });

  it("quantize → dequantize stays within ggml's per-block error bounds", () => {
    const values = llama2c.layers[0].w1.subarray(0, 32 * 64);
    for (const [type, quantize, blockBytes, bound] of [
      // Q8_0: rounding error ≤ d/2, plus 127·|d − f16(d)| ≤ 127·2^−11·d from the f16 scale: < 0.57·d.
      [8, quantizeQ8_0, 34, 0.57],
      // Q4_0: codes clip at 15, so error ≤ |d| (+ 8·2^−11·|d| from the f16 scale): < 1.01·|d|.
      [2, quantizeQ4_0, 18, 1.01],
    ] as const) {
      const bytes = quantize(values);
      const restored = dequantizeGgml(type, bytes, 0, values.length);
      for (let block = 0; block < values.length / 32; block++) {
        const scale = Math.abs(dequantizeGgml(1, bytes, block * blockBytes, 1)[0]);
        for (let i = block * 32; i < block * 32 + 32; i++) expect(Math.abs(restored[i] - values[i])).toBeLessThanOrEqual(bound * scale);
      }
    }
  });

  it("dequantizes hand-made Q8_0, Q4_0 and Q4_1 blocks by ggml's formulas", () => {
    // Q8_0: d = 0.5 (f16 0x3800), q_i = i − 16 → x_i = 0.5·(i − 16).
    const q8 = new Uint8Array(34);
    q8[0] = 0x00;
    q8[1] = 0x38;
    for (let i = 0; i < 32; i++) q8[2 + i] = (i - 16) & 0xff;
    expect(Array.from(dequantizeGgml(8, q8, 0, 32))).toEqual(Array.from({ length: 32 }, (_, i) => 0.5 * (i - 16)));
    // Q4_0: d = 0.25 (0x3400), byte j = (j) | (15 − j) << 4 → x_j = 0.25·(j − 8), x_{j+16} = 0.25·(7 − j).
    const q4 = new Uint8Array(18);
    q4[1] = 0x34;
    for (let j = 0; j < 16; j++) q4[2 + j] = j | ((15 - j) << 4);
    const expected4 = [...Array.from({ length: 16 }, (_, j) => 0.25 * (j - 8)), ...Array.from({ length: 16 }, (_, j) => 0.25 * (7 - j))];
    expect(Array.from(dequantizeGgml(2, q4, 0, 32))).toEqual(expected4);
    // Q4_1: d = 0.25, m = −1 (0xbc00): x = 0.25·q − 1.
    const q41 = new Uint8Array(20);
    q41[1] = 0x34;
    q41[3] = 0xbc;
    for (let j = 0; j < 16; j++) q41[4 + j] = j | ((15 - j) << 4);
    expect(Array.from(dequantizeGgml(3, q41, 0, 32))).toEqual([...Array.from({ length: 16 }, (_, j) => 0.25 * j - 1), ...Array.from({ length: 16 }, (_, j) => 0.25 * (15 - j) - 1)]);
  });

  it("writes metadata larger than the writer's first 64 KiB buffer (e.g. a 49,152-token vocabulary)", () => {
    // 20,000 strings of ~10 bytes plus 8-byte lengths ≈ 360 KB: the buffer grows during scalar writes.
    const pieces = Array.from({ length: 20_000 }, (_, id) => `piece${id}`);
    const bytes = writeGguf({ "tokenizer.ggml.tokens": { type: "array", itemType: "string", value: pieces }, "after.grow": { type: "uint64", value: 123 } }, []);
    const file = new GgufFile(bytes);
    expect(file.metadata.get("tokenizer.ggml.tokens")).toEqual(pieces);
    expect(Number(file.metadata.get("after.grow"))).toBe(123);
  });

  it("names what is wrong: bad magic, truncation, unsupported type and architecture", () => {
    const file = writeLlamaGguf(llama2c, tok512, { name: "stories260K", tensorType: "F32" });
    const badMagic = file.slice();
    badMagic[0] = 0x47 + 1;
    expect(() => new GgufFile(badMagic)).toThrowError(/not a GGUF file: magic is 0x46554748/);
    const truncated = file.subarray(0, file.byteLength - 40_000);
    expect(() => loadGgufLlama(truncated)).toThrowError(/GGUF file truncated: expected \d+ bytes for tensor blk\.\d+\.\w+\.weight \(F32\), file has \d+/);
    expect(() => new GgufFile(file.subarray(0, 100))).toThrowError(/GGUF file truncated: expected \d+ bytes for/);
    const q4k = writeGguf({ "general.architecture": { type: "string", value: "llama" } }, []);
    expect(() => loadGgufLlama(q4k)).toThrowError(/GGUF metadata llama.embedding_length must be a number, got nothing/);
    const gpt = writeGguf({ "general.architecture": { type: "string", value: "gpt2" } }, []);
    const error = (() => {
      try {
        loadGgufLlama(gpt);
      } catch (caught) {
        return caught;
      }
    })();
    expect(ModelFormatError.isInstance(error) && error.code).toBe("unsupported");
  });
});
