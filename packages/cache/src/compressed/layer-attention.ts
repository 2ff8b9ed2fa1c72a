import type { AttentionBackend, LayerAttentionRequest } from "../attention/attention-backend.js";
import { TypeScriptAttention } from "../attention/typescript-attention.js";
import { CacheConfigurationError } from "../errors.js";
import type { AttentionOptions } from "../kv-cache.js";
import type { CacheLayout } from "./cache-layout.js";
import type { LayerState } from "./layer-storage.js";

/**
 * One layer's attention step: checks the call, prepares the weights target (the caller's, or
 * scratch when a policy observes), hands the layer's pages to the plugged-in backend and falls
 * back to the TypeScript attention when there is none or it declines.
 */
export class LayerAttention {
  backend: AttentionBackend | undefined;
  private readonly typescript: TypeScriptAttention;
  private weightsScratch = new Float32Array(0);

  constructor(
    private readonly layout: CacheLayout,
    backend: AttentionBackend | undefined,
  ) {
    this.backend = backend;
    this.typescript = new TypeScriptAttention(layout.headDim);
  }

  backendName(): string {
    return this.backend?.name ?? this.typescript.name;
  }

  /** Writes the attention output into `out`; returns the weights (heads × length) when they were computed. */
  attend(layer: number, state: LayerState, queries: Float32Array, out: Float32Array, options: AttentionOptions, wantWeights: boolean): Float32Array | undefined {
    const { heads } = options;
    const { headDim, kvHeads } = this.layout;
    if (!(Number.isInteger(heads) && heads > 0 && heads % kvHeads === 0)) {
      throw new CacheConfigurationError(`attend: heads (${heads}) must be a positive multiple of kvHeads (${kvHeads})`);
    }
    if (queries.length !== heads * headDim || out.length < heads * headDim) {
      throw new CacheConfigurationError(`attend: queries and out need ${heads * headDim} floats, got ${queries.length} and ${out.length}`);
    }
    const length = state.length;
    let weightsOut = options.weightsOut;
    if (weightsOut !== undefined && weightsOut.length < heads * length) {
      throw new CacheConfigurationError(`attend: weightsOut needs heads × length = ${heads * length} floats, got ${weightsOut.length}`);
    }
    if (weightsOut === undefined && wantWeights) {
      if (this.weightsScratch.length < heads * length) this.weightsScratch = new Float32Array(Math.max(heads * length, this.weightsScratch.length * 2));
      weightsOut = this.weightsScratch;
    }
    if (weightsOut !== undefined) weightsOut.fill(0, 0, heads * length);
    const request: LayerAttentionRequest = {
      layer,
      heads,
      kvHeads,
      headDim,
      scale: options.scale ?? 1 / Math.sqrt(headDim),
      length,
      queries,
      out,
      weightsOut,
      pages: state.pages,
      residual: {
        keys: state.residualKeys,
        values: state.residualValues,
        live: state.residualLive,
        count: state.residualCount,
        stride: this.layout.flushAt,
        start: state.residualStart,
      },
    };
    if (this.backend?.attendLayer(request) !== true) this.typescript.attendLayer(request);
    return weightsOut;
  }
}
