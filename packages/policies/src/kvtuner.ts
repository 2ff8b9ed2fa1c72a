import type { FlushContext, FlushSegmentPlan, Policy, PolicyAction, PolicyCacheView } from "@kvpack/cache";
import { type Codec, type CodecSpec, createCodec } from "@kvpack/codecs";
import { PolicyConfigurationError } from "./policy-errors.js";

/** A (key bits, value bits) pair a layer may use. */
export interface BitPair {
  readonly keyBits: number;
  readonly valueBits: number;
}

/** Codec spec of a codec family at a bit width, for keys or values. */
export type BitCodecFamily = (dimension: number, bits: number, role: "key" | "value") => CodecSpec;

export const turboquantFamily: BitCodecFamily = (dimension, bits) => ({ kind: "turboquant", dimension, bits });

/** One layer's activations from a dense calibration run: every step's keys, values (post-RoPE) and queries. */
export interface KvTunerLayerSample {
  /** tokens × kvHeads × headDim */
  readonly keys: Float32Array;
  /** tokens × kvHeads × headDim */
  readonly values: Float32Array;
  /** tokens × heads × headDim */
  readonly queries: Float32Array;
  readonly tokens: number;
}

export interface KvTunerCalibrationOptions {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly candidates: readonly BitPair[];
  /** Average of (keyBits + valueBits) / 2 over layers the configuration may use. */
  readonly targetBits: number;
  /** Codec family the bit widths refer to (default TurboQuant); its name goes into the config. */
  readonly family?: BitCodecFamily;
  readonly familyName?: string;
  /** Score every n-th query step (default 1). */
  readonly queryStride?: number;
}

/** The saved configuration: one (key bits, value bits) pair per layer, chosen offline. */
export interface KvTunerConfig {
  readonly format: "kvpack-kvtuner";
  readonly version: 1;
  readonly family: string;
  readonly targetBits: number;
  readonly averageBits: number;
  readonly layers: readonly (BitPair & { readonly error: number })[];
  readonly candidates: readonly BitPair[];
  /** layer × candidate relative attention-output error measured on the calibration run. */
  readonly candidateErrors: readonly (readonly number[])[];
}

/** Quarter-bit units keep fractional rates (FibQuant) exact in the budget search. */
const unitsPerBit = 4;

function pairUnits(pair: BitPair): number {
  return Math.round((pair.keyBits + pair.valueBits) * unitsPerBit);
}

function quantizeRows(codec: Codec, rows: Float32Array, tokens: number, kvHeads: number, headDim: number): Float32Array {
  // Encode per KV head so per-token codecs see headDim vectors in position order.
  const out = new Float32Array(rows.length);
  const gathered = new Float32Array(tokens * headDim);
  for (let kvHead = 0; kvHead < kvHeads; kvHead++) {
    for (let t = 0; t < tokens; t++) gathered.set(rows.subarray((t * kvHeads + kvHead) * headDim, (t * kvHeads + kvHead + 1) * headDim), t * headDim);
    const decoded = codec.decode(codec.encode(gathered, tokens, headDim));
    for (let t = 0; t < tokens; t++) out.set(decoded.subarray(t * headDim, (t + 1) * headDim), (t * kvHeads + kvHead) * headDim);
  }
  return out;
}

/** Σ‖o − ô‖² and Σ‖o‖² of causal attention with exact vs quantized keys and values, every query head. */
function attentionError(
  sample: KvTunerLayerSample,
  keys: Float32Array,
  values: Float32Array,
  options: KvTunerCalibrationOptions,
): { error: number; reference: number } {
  const { heads, kvHeads, headDim } = options;
  const stride = options.queryStride ?? 1;
  const groupSize = heads / kvHeads;
  const scale = 1 / Math.sqrt(headDim);
  const exactWeights = new Float64Array(sample.tokens);
  const approximateWeights = new Float64Array(sample.tokens);
  let error = 0;
  let reference = 0;
  for (let t = stride - 1; t < sample.tokens; t += stride) {
    for (let head = 0; head < heads; head++) {
      const kvHead = Math.floor(head / groupSize);
      const queryOffset = (t * heads + head) * headDim;
      let exactMax = -Infinity;
      let approximateMax = -Infinity;
      for (let p = 0; p <= t; p++) {
        const keyOffset = (p * kvHeads + kvHead) * headDim;
        let exact = 0;
        let approximate = 0;
        for (let i = 0; i < headDim; i++) {
          const q = sample.queries[queryOffset + i];
          exact += q * sample.keys[keyOffset + i];
          approximate += q * keys[keyOffset + i];
        }
        exactWeights[p] = exact * scale;
        approximateWeights[p] = approximate * scale;
        if (exactWeights[p] > exactMax) exactMax = exactWeights[p];
        if (approximateWeights[p] > approximateMax) approximateMax = approximateWeights[p];
      }
      let exactSum = 0;
      let approximateSum = 0;
      for (let p = 0; p <= t; p++) {
        exactWeights[p] = Math.exp(exactWeights[p] - exactMax);
        approximateWeights[p] = Math.exp(approximateWeights[p] - approximateMax);
        exactSum += exactWeights[p];
        approximateSum += approximateWeights[p];
      }
      for (let i = 0; i < headDim; i++) {
        let exact = 0;
        let approximate = 0;
        for (let p = 0; p <= t; p++) {
          const valueOffset = (p * kvHeads + kvHead) * headDim + i;
          exact += exactWeights[p] * sample.values[valueOffset];
          approximate += approximateWeights[p] * values[valueOffset];
        }
        exact /= exactSum;
        approximate /= approximateSum;
        error += (exact - approximate) ** 2;
        reference += exact * exact;
      }
    }
  }
  return { error, reference };
}

/**
 * Picks one (key bits, value bits) pair per layer that minimizes the summed relative
 * attention-output error of the calibration run under an average-bit budget (exact multiple-choice
 * knapsack over quarter bits). Each candidate is measured on its layer alone, keys and values
 * quantized together, as KVTuner's layer-wise sensitivity search does offline.
 * Source: Li et al. 2025, "KVTuner: Sensitivity-Aware Layer-wise Mixed Precision KV Cache Quantization" (arXiv:2502.04420).
 */
export function calibrateKvTuner(samples: readonly KvTunerLayerSample[], options: KvTunerCalibrationOptions): KvTunerConfig {
  const { candidates, headDim, kvHeads, heads } = options;
  if (samples.length === 0) throw new PolicyConfigurationError("calibrateKvTuner: no layer samples");
  if (candidates.length === 0) throw new PolicyConfigurationError("calibrateKvTuner: no candidate bit pairs");
  if (!(Number.isInteger(heads) && Number.isInteger(kvHeads) && heads > 0 && kvHeads > 0 && heads % kvHeads === 0)) {
    throw new PolicyConfigurationError(`calibrateKvTuner: heads ${heads} must be a positive multiple of kvHeads ${kvHeads}`);
  }
  if (!(options.targetBits > 0 && Number.isFinite(options.targetBits))) throw new PolicyConfigurationError(`targetBits must be positive, got ${options.targetBits}`);
  for (const [layer, sample] of samples.entries()) {
    if (sample.keys.length !== sample.tokens * kvHeads * headDim || sample.values.length !== sample.keys.length || sample.queries.length !== sample.tokens * heads * headDim) {
      throw new PolicyConfigurationError(`calibrateKvTuner: layer ${layer} sample lengths do not match tokens × heads × headDim`);
    }
  }
  const family = options.family ?? turboquantFamily;
  const codecs = new Map<string, Codec>();
  const codecFor = (bits: number, role: "key" | "value"): Codec => {
    const key = `${role}:${bits}`;
    let codec = codecs.get(key);
    if (codec === undefined) {
      codec = createCodec(family(headDim, bits, role));
      codecs.set(key, codec);
    }
    return codec;
  };
  const candidateErrors = samples.map((sample) => {
    const quantizedKeys = new Map<number, Float32Array>();
    const quantizedValues = new Map<number, Float32Array>();
    return candidates.map((pair) => {
      let keys = quantizedKeys.get(pair.keyBits);
      if (keys === undefined) {
        keys = quantizeRows(codecFor(pair.keyBits, "key"), sample.keys, sample.tokens, kvHeads, headDim);
        quantizedKeys.set(pair.keyBits, keys);
      }
      let values = quantizedValues.get(pair.valueBits);
      if (values === undefined) {
        values = quantizeRows(codecFor(pair.valueBits, "value"), sample.values, sample.tokens, kvHeads, headDim);
        quantizedValues.set(pair.valueBits, values);
      }
      const { error, reference } = attentionError(sample, keys, values, options);
      return reference > 0 ? error / reference : 0;
    });
  });
  const choice = chooseBitPairs(candidateErrors, candidates, options.targetBits);
  const layers = choice.map((index, layer) => ({ ...candidates[index], error: candidateErrors[layer][index] }));
  const averageBits = layers.reduce((sum, pair) => sum + (pair.keyBits + pair.valueBits) / 2, 0) / layers.length;
  return {
    format: "kvpack-kvtuner",
    version: 1,
    family: options.familyName ?? "turboquant",
    targetBits: options.targetBits,
    averageBits,
    layers,
    candidates: [...candidates],
    candidateErrors,
  };
}

/**
 * Exact minimum of Σ errors[layer][choice] subject to Σ (keyBits + valueBits) ≤ 2 × layers ×
 * targetBits (dynamic programming over quarter bits). Throws when even the cheapest pairs exceed it.
 */
export function chooseBitPairs(errors: readonly (readonly number[])[], candidates: readonly BitPair[], targetBits: number): number[] {
  const layers = errors.length;
  const capacity = Math.floor(2 * layers * targetBits * unitsPerBit + 1e-9);
  const costs = candidates.map(pairUnits);
  // best[b] = minimum error of the layers so far using exactly b units; choices per layer for backtracking.
  let best = new Float64Array(capacity + 1).fill(Infinity);
  best[0] = 0;
  const picks: Int32Array[] = [];
  for (let layer = 0; layer < layers; layer++) {
    const next = new Float64Array(capacity + 1).fill(Infinity);
    const pick = new Int32Array(capacity + 1).fill(-1);
    for (let used = 0; used <= capacity; used++) {
      if (best[used] === Infinity) continue;
      for (let c = 0; c < candidates.length; c++) {
        const total = used + costs[c];
        if (total > capacity) continue;
        const value = best[used] + errors[layer][c];
        if (value < next[total]) {
          next[total] = value;
          pick[total] = c;
        }
      }
    }
    picks.push(pick);
    best = next;
  }
  let end = -1;
  for (let used = 0; used <= capacity; used++) if (best[used] < Infinity && (end < 0 || best[used] < best[end])) end = used;
  if (end < 0) throw new PolicyConfigurationError(`targetBits ${targetBits} is below the cheapest candidate pair`);
  const choice = new Array<number>(layers);
  for (let layer = layers - 1; layer >= 0; layer--) {
    const c = picks[layer][end];
    choice[layer] = c;
    end -= costs[c];
  }
  return choice;
}

export function kvTunerConfigToJson(config: KvTunerConfig): string {
  return `${JSON.stringify(config, null, 2)}\n`;
}

/** Parses and checks a saved configuration. */
export function parseKvTunerConfig(json: string): KvTunerConfig {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch (error) {
    throw new PolicyConfigurationError(`KVTuner config is not JSON: ${(error as Error).message}`);
  }
  const config = value as KvTunerConfig;
  if (typeof config !== "object" || config === null || config.format !== "kvpack-kvtuner" || config.version !== 1) {
    throw new PolicyConfigurationError("not a kvpack-kvtuner version 1 config");
  }
  if (!Array.isArray(config.layers) || config.layers.length === 0) throw new PolicyConfigurationError("KVTuner config has no layers");
  for (const [layer, pair] of config.layers.entries()) {
    if (!(pair.keyBits > 0 && pair.valueBits > 0)) throw new PolicyConfigurationError(`KVTuner config layer ${layer}: bits must be positive`);
  }
  return config;
}

/** Per-layer codec specs for the CompressedKVCache constructor (`keys`, `values` arrays). */
export function kvTunerCodecSpecs(config: KvTunerConfig, headDim: number, family: BitCodecFamily = turboquantFamily): { keys: CodecSpec[]; values: CodecSpec[] } {
  return {
    keys: config.layers.map((pair) => family(headDim, pair.keyBits, "key")),
    values: config.layers.map((pair) => family(headDim, pair.valueBits, "value")),
  };
}

/**
 * Applies a KVTuner configuration to any cache: every flushed page of layer l is written with that
 * layer's (key bits, value bits) codecs. (Building the cache with `kvTunerCodecSpecs` does the same
 * without a policy.)
 * Source: Li et al. 2025, "KVTuner: Sensitivity-Aware Layer-wise Mixed Precision KV Cache Quantization" (arXiv:2502.04420).
 */
export class KvTunerPolicy implements Policy {
  readonly name = "kvtuner";
  readonly config: KvTunerConfig;
  private readonly family: BitCodecFamily;
  private specs: { keys: CodecSpec[]; values: CodecSpec[] } | undefined;

  constructor(config: KvTunerConfig, family: BitCodecFamily = turboquantFamily) {
    this.config = config;
    this.family = family;
  }

  decide(): readonly PolicyAction[] {
    return [];
  }

  planFlush(context: FlushContext, cache: PolicyCacheView): readonly FlushSegmentPlan[] {
    if (this.config.layers.length !== cache.layers) {
      throw new PolicyConfigurationError(`KVTuner config has ${this.config.layers.length} layers, the cache ${cache.layers}`);
    }
    this.specs ??= kvTunerCodecSpecs(this.config, cache.headDim, this.family);
    return [{ positions: context.positions, keys: this.specs.keys[context.layer], values: this.specs.values[context.layer] }];
  }
}
