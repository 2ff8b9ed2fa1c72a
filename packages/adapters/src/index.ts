export type { LlamaConfig, LlamaLayerWeights, LlamaWeights } from "./model/llama-weights.js";
