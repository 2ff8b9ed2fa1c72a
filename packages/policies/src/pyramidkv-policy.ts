import { pyramidLayerWeights } from "./pyramid-budget.js";
import { SnapKvPolicy, type SnapKvOptions } from "./snapkv-policy.js";

export interface PyramidKvOptions extends SnapKvOptions {
  /** Layers of the model (the pyramid needs them up front). */
  readonly layers: number;
  /** Ratio between the average and the top layer's budget (default 20, as in the paper). */
  readonly beta?: number;
}

/**
 * PyramidKV: SnapKV's observation-window selection with per-layer budgets that shrink linearly
 * with depth (more tokens in lower layers, where attention is broad; fewer in upper layers, where
 * it concentrates), keeping the total of a uniform budget.
 * Source: Cai et al. 2024, "PyramidKV: Dynamic KV Cache Compression based on Pyramidal Information Funneling" (arXiv:2406.02069).
 */
export class PyramidKvPolicy extends SnapKvPolicy {
  override readonly name: string = "pyramidkv";

  constructor(options: PyramidKvOptions) {
    super({ ...options, budget: { ...options.budget, layerWeights: pyramidLayerWeights(options.layers, options.beta) } });
  }
}
