import type { Gpt2LayerWeights, Gpt2Weights } from "../model/gpt2-weights.js";
import { firstNonFinite } from "../model/bytes.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { type HuggingFaceConfigSource, gpt2ConfigFromHuggingFace } from "./hugging-face-config.js";
import { type SafetensorsInput, SafetensorsShards } from "./safetensors-shards.js";

/** Columns [begin, end) of a row-major [rows, columns] matrix, transposed to [end − begin, rows]. */
function transposeColumns(matrix: Float32Array, rows: number, columns: number, begin: number, end: number): Float32Array {
  const out = new Float32Array((end - begin) * rows);
  for (let row = 0; row < rows; row++) {
    for (let column = begin; column < end; column++) out[(column - begin) * rows + row] = matrix[row * columns + column];
  }
  return out;
}

/**
 * Loads a Hugging Face GPT-2 checkpoint (model.safetensors + config.json; names with or without
 * the "transformer." prefix). Conv1D weights are stored [in, out] and are transposed to [out, in];
 * c_attn is split into q, k and v.
 */
export function loadSafetensorsGpt2(files: SafetensorsInput | readonly SafetensorsInput[], configJson: HuggingFaceConfigSource): Gpt2Weights {
  const shards = new SafetensorsShards(files);
  const config = gpt2ConfigFromHuggingFace(configJson);
  const prefix = shards.has("transformer.wte.weight") ? "transformer." : "";
  const { dim, hiddenDim, vocabSize } = config;
  const tensor = (name: string, shape: readonly number[]): Float32Array => {
    const values = shards.float32(prefix + name, shape);
    const index = firstNonFinite(values);
    if (index >= 0) throw new ModelFormatError("safetensors", "non-finite", `safetensors: ${prefix}${name} holds a non-finite value (${values[index]}) at element ${index}`);
    return values;
  };
  const layers: Gpt2LayerWeights[] = [];
  for (let layer = 0; layer < config.layers; layer++) {
    const name = `h.${layer}.`;
    const attention = tensor(`${name}attn.c_attn.weight`, [dim, 3 * dim]);
    const attentionBias = tensor(`${name}attn.c_attn.bias`, [3 * dim]);
    layers.push({
      attentionNormWeight: tensor(`${name}ln_1.weight`, [dim]),
      attentionNormBias: tensor(`${name}ln_1.bias`, [dim]),
      wq: transposeColumns(attention, dim, 3 * dim, 0, dim),
      wk: transposeColumns(attention, dim, 3 * dim, dim, 2 * dim),
      wv: transposeColumns(attention, dim, 3 * dim, 2 * dim, 3 * dim),
      bq: attentionBias.slice(0, dim),
      bk: attentionBias.slice(dim, 2 * dim),
      bv: attentionBias.slice(2 * dim, 3 * dim),
      wo: transposeColumns(tensor(`${name}attn.c_proj.weight`, [dim, dim]), dim, dim, 0, dim),
      bo: tensor(`${name}attn.c_proj.bias`, [dim]),
      ffnNormWeight: tensor(`${name}ln_2.weight`, [dim]),
      ffnNormBias: tensor(`${name}ln_2.bias`, [dim]),
      wUp: transposeColumns(tensor(`${name}mlp.c_fc.weight`, [dim, hiddenDim]), dim, hiddenDim, 0, hiddenDim),
      bUp: tensor(`${name}mlp.c_fc.bias`, [hiddenDim]),
      wDown: transposeColumns(tensor(`${name}mlp.c_proj.weight`, [hiddenDim, dim]), hiddenDim, dim, 0, dim),
      bDown: tensor(`${name}mlp.c_proj.bias`, [dim]),
    });
  }
  return {
    config,
    tokenEmbedding: tensor("wte.weight", [vocabSize, dim]),
    positionEmbedding: tensor("wpe.weight", [config.maxSequenceLength, dim]),
    layers,
    finalNormWeight: tensor("ln_f.weight", [dim]),
    finalNormBias: tensor("ln_f.bias", [dim]),
  };
}
