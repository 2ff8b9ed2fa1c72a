import { describe, expect, it } from "vitest";
import { loadLlama2cCheckpoint } from "../llama2c/load-llama2c-checkpoint.js";
import { bfloat16BitsToNumber, float16BitsToNumber, numberToBfloat16Bits, numberToFloat16Bits } from "../model/half-float.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { type ModelReference, readModelsData, readModelsDataJson } from "../model/test-models-data.js";
import { maxAbsoluteDifference, promptLogits } from "../runtime/test-prompt-logits.js";
import { SeededRandom } from "../generation/seeded-random.js";
import { loadSafetensorsGpt2 } from "./load-safetensors-gpt2.js";
import { loadSafetensorsLlama } from "./load-safetensors-llama.js";
import { SafetensorsFile } from "./safetensors-file.js";
import { writeSafetensorsGpt2 } from "./write-safetensors-gpt2.js";
import { writeSafetensorsLlama } from "./write-safetensors-llama.js";

const reference = readModelsDataJson<ModelReference>("stories260K.reference.json");
const llama2c = loadLlama2cCheckpoint(readModelsData("stories260K.bin"));

describe("safetensors Llama", () => {
  it("F32 round trip gives the llama2.c weights back and the reference prompt logits within 1e-4", () => {
    const { file, config } = writeSafetensorsLlama(llama2c, { dtype: "F32" });
    const loaded = loadSafetensorsLlama(file, JSON.stringify(config));
    expect(loaded.config).toEqual(llama2c.config);
    // q/k are permuted on write and un-permuted on load: exact equality.
    expect(loaded.layers[3].wq).toEqual(llama2c.layers[3].wq);
    expect(loaded.layers[3].wk).toEqual(llama2c.layers[3].wk);
    // stories260K.reference.json last_position_logits_for_prompt, 1e-4 absolute as for llama2.c.
    expect(maxAbsoluteDifference(promptLogits(loaded, reference.prompt_token_ids), reference.last_position_logits_for_prompt)).toBeLessThan(1e-4);
  });

  it.each(["F16", "BF16"] as const)("%s weights stay close to the reference logits", (dtype) => {
    const { file, config } = writeSafetensorsLlama(llama2c, { dtype });
    const loaded = loadSafetensorsLlama(file, config);
    // Rounding every weight to F16 (2^-11 relative) or BF16 (2^-8 relative) moves logits of magnitude ~10 by
    // about that relative amount. Measured: 0.0079 (F16), 0.072 (BF16); bounds with ~4x margin.
    const tolerance = dtype === "F16" ? 0.03 : 0.3;
    const logits = promptLogits(loaded, reference.prompt_token_ids);
    expect(maxAbsoluteDifference(logits, reference.last_position_logits_for_prompt)).toBeLessThan(tolerance);
    let best = 0;
    for (let i = 1; i < logits.length; i++) if (logits[i] > logits[best]) best = i;
    expect(best).toBe(reference.greedy_token_ids[reference.prompt_token_ids.length]);
  });

  it("names missing tensors, wrong shapes and truncation", () => {
    const { file, config } = writeSafetensorsLlama(llama2c, { dtype: "F32" });
    expect(() => loadSafetensorsLlama(file, { ...config, num_hidden_layers: 6 })).toThrowError("safetensors checkpoint has no tensor model.layers.5.input_layernorm.weight");
    expect(() => loadSafetensorsLlama(file, { ...config, intermediate_size: 171 })).toThrowError(/model.layers.0.mlp.gate_proj.weight has shape \[172, 64\], expected \[171, 64\]/);
    const error = (() => {
      try {
        new SafetensorsFile(file.subarray(0, file.byteLength - 100));
      } catch (caught) {
        return caught;
      }
    })();
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toMatch(/safetensors file truncated: expected \d+ bytes for tensor model.layers.4.mlp.up_proj.weight/);
    expect(() => loadSafetensorsLlama(file, { ...config, rope_scaling: { type: "llama3" } })).toThrowError(/rope_scaling/);
  });
});

describe("half floats", () => {
  it("encode and decode IEEE binary16 and bfloat16 patterns", () => {
    // IEEE 754 binary16: 1 = 0x3c00, −2 = 0xc000, 65504 = 0x7bff (max), 2^−24 = 0x0001 (smallest subnormal), 1/3 ≈ 0x3555.
    expect([1, -2, 65504, 2 ** -24, 1 / 3].map(numberToFloat16Bits)).toEqual([0x3c00, 0xc000, 0x7bff, 0x0001, 0x3555]);
    expect([0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00].map(float16BitsToNumber)).toEqual([1, -2, 65504, 2 ** -24, Infinity]);
    // 1 + 2^−11 is halfway between 1 and 1 + 2^−10: ties to even gives 1.
    expect(numberToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00);
    // bfloat16 is the top half of float32: 1 = 0x3f80, −2 = 0xc000; 1 + 2^−8 ties to even → 1.
    expect([1, -2, 1 + 2 ** -8].map(numberToBfloat16Bits)).toEqual([0x3f80, 0xc000, 0x3f80]);
    expect(bfloat16BitsToNumber(0x4049)).toBe(3.140625);
  });
});

describe("writeSafetensorsGpt2", () => {
  it("is the inverse of loadSafetensorsGpt2 (Conv1D transposes and the c_attn split round-trip exactly)", () => {
    const random = new SeededRandom(9);
    const values = (count: number) => Float32Array.from({ length: count }, () => random.nextFloat() - 0.5);
    const [dim, hiddenDim, vocabSize, maxSequenceLength] = [8, 24, 50, 16];
    const layer = () => ({
      attentionNormWeight: values(dim), attentionNormBias: values(dim), wq: values(dim * dim), wk: values(dim * dim), wv: values(dim * dim),
      bq: values(dim), bk: values(dim), bv: values(dim), wo: values(dim * dim), bo: values(dim), ffnNormWeight: values(dim), ffnNormBias: values(dim),
      wUp: values(hiddenDim * dim), bUp: values(hiddenDim), wDown: values(dim * hiddenDim), bDown: values(dim),
    });
    const weights = {
      config: { dim, hiddenDim, layers: 2, heads: 2, headDim: 4, vocabSize, maxSequenceLength, normEpsilon: 1e-5 },
      tokenEmbedding: values(vocabSize * dim), positionEmbedding: values(maxSequenceLength * dim), layers: [layer(), layer()], finalNormWeight: values(dim), finalNormBias: values(dim),
    };
    const { file, config } = writeSafetensorsGpt2(weights);
    expect(loadSafetensorsGpt2(file, config)).toEqual(weights);
  });
});
