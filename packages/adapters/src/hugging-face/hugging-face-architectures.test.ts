import { describe, expect, it } from "vitest";
import type { LlamaArchitecture } from "../model/llama-model-description.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { loadModelFolder } from "./load-model-folder.js";
import { randomConfig, randomDimensions, randomFolder, randomTensors } from "./test-random-checkpoints.js";
import { jsonBytes } from "./test-model-folders.js";

async function describeFolder(architecture: LlamaArchitecture) {
  const folder = await loadModelFolder(randomFolder(architecture));
  if (folder.weights.kind !== "llama") throw new Error("expected Llama-family weights");
  return folder.weights.description;
}

describe("config.json + tensor names of each architecture → the shared model description", () => {
  const tensors = (architecture: LlamaArchitecture) => randomTensors(architecture);

  it("qwen2: q/k/v biases, NeoX rotation in Hugging Face's layout (no un-permutation), untied classifier", async () => {
    const description = await describeFolder("qwen2");
    const raw = tensors("qwen2");
    expect(description.architecture).toBe("qwen2");
    expect(description.rope).toEqual({ style: "neox", freqBase: 10000 });
    expect(description.weights.layers[1].bq).toEqual(raw["model.layers.1.self_attn.q_proj.bias"].data);
    expect(description.weights.layers[1].bv).toEqual(raw["model.layers.1.self_attn.v_proj.bias"].data);
    expect(description.weights.layers[0].wq).toEqual(raw["model.layers.0.self_attn.q_proj.weight"].data);
    expect(description.weights.classifier).toEqual(raw["lm_head.weight"].data);
    expect(description.layerAttention.every((attention) => attention.kind === "full")).toBe(true); // use_sliding_window false
  });

  it("qwen3: q/k norms of head_dim 16 with hidden 32 / 4 heads (heads·head_dim ≠ hidden)", async () => {
    const description = await describeFolder("qwen3");
    expect(description.config).toMatchObject({ headDim: 16, heads: 4, kvHeads: 2, dim: 32 });
    expect(description.weights.layers[0].queryNorm).toEqual(tensors("qwen3")["model.layers.0.self_attn.q_norm.weight"].data);
    expect(description.weights.layers[0].bq).toBeUndefined();
  });

  it("phi3: fused qkv_proj and gate_up_proj split into q, k, v and gate, up", async () => {
    const description = await describeFolder("phi3");
    const { dim, hiddenDim, heads, kvHeads } = randomDimensions;
    const headDim = dim / heads;
    const qkv = tensors("phi3")["model.layers.1.self_attn.qkv_proj.weight"].data;
    const gateUp = tensors("phi3")["model.layers.1.mlp.gate_up_proj.weight"].data;
    const layer = description.weights.layers[1];
    expect(layer.wq).toEqual(qkv.subarray(0, heads * headDim * dim));
    expect(layer.wk).toEqual(qkv.subarray(heads * headDim * dim, (heads + kvHeads) * headDim * dim));
    expect(layer.wv).toEqual(qkv.subarray((heads + kvHeads) * headDim * dim));
    expect(layer.w1).toEqual(gateUp.subarray(0, hiddenDim * dim));
    expect(layer.w3).toEqual(gateUp.subarray(hiddenDim * dim));
  });

  it("gemma2: norms as 1 + w, sandwich norms, √hidden embedding scale, query_pre_attn_scalar, soft caps, GeGLU, even layers sliding", async () => {
    const description = await describeFolder("gemma2");
    const raw = tensors("gemma2");
    const stored = raw["model.layers.0.post_feedforward_layernorm.weight"].data;
    expect(description.weights.layers[0].postFfnNorm).toEqual(Float32Array.from(stored, (w) => 1 + w));
    expect(description.weights.layers[0].postAttentionNorm).toEqual(Float32Array.from(raw["model.layers.0.post_attention_layernorm.weight"].data, (w) => 1 + w));
    expect(description.weights.layers[0].ffnNorm).toEqual(Float32Array.from(raw["model.layers.0.pre_feedforward_layernorm.weight"].data, (w) => 1 + w));
    expect(description.weights.classifier).toBe(description.weights.tokenEmbedding);
    expect(description).toMatchObject({ activation: "gelu-tanh", embeddingScale: Math.fround(Math.sqrt(32)), attentionScale: 1 / 4, attentionLogitSoftCap: 50, finalLogitSoftCap: 30 });
    expect(description.layerAttention).toEqual([{ kind: "sliding-window", window: 8 }, { kind: "full" }]);
  });

  it("refuses partial rotary, longrope scaling and a Llama o_proj bias, naming the field", async () => {
    const cases: [LlamaArchitecture, Record<string, unknown>, RegExp][] = [
      ["phi3", { partial_rotary_factor: 0.75 }, /config\.json: partial_rotary_factor 0\.75 is not supported/],
      ["phi3", { rope_scaling: { type: "longrope", long_factor: [1], short_factor: [1] } }, /config\.json: rope_scaling\.rope_type "longrope" is not supported/],
      ["llama", { attention_bias: true }, /config\.json: attention_bias true is not supported/],
      ["gemma2", { hidden_activation: "gelu" }, /config\.json: hidden_activation "gelu" is not supported/],
      ["qwen3", { num_key_value_heads: 3 }, /config\.json: num_attention_heads 4 must be a multiple of num_key_value_heads 3/],
    ];
    for (const [architecture, change, pattern] of cases) {
      const files = randomFolder(architecture);
      files.set("config.json", jsonBytes({ ...randomConfig(architecture), ...change }));
      const error = await loadModelFolder(files).then(() => undefined, (caught: unknown) => caught);
      expect(ModelFormatError.isInstance(error), String(error)).toBe(true);
      expect((error as Error).message).toMatch(pattern);
    }
  });
});
