import { type AttentionOptions, DenseKVCache, type KVCache } from "@kvpack/cache";

/**
 * Runs attention on the cache under test and on a dense shadow fed the same keys and values, and
 * accumulates the cosine between the two outputs for every layer, head and step.
 */
export class ComparingCache implements KVCache {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  cosineSum = 0;
  cosineCount = 0;
  private readonly shadowOut: Float32Array;

  constructor(
    readonly inner: KVCache,
    readonly shadow: DenseKVCache,
    heads: number,
  ) {
    this.layers = inner.layers;
    this.kvHeads = inner.kvHeads;
    this.headDim = inner.headDim;
    this.shadowOut = new Float32Array(heads * inner.headDim);
  }

  length(layer?: number): number {
    return this.inner.length(layer);
  }

  append(layer: number, keys: Float32Array, values: Float32Array): void {
    this.shadow.append(layer, keys, values);
    this.inner.append(layer, keys, values);
  }

  attend(layer: number, queries: Float32Array, out: Float32Array, options: AttentionOptions): void {
    this.shadow.attend(layer, queries, this.shadowOut, { heads: options.heads, scale: options.scale });
    this.inner.attend(layer, queries, out, options);
    const { headDim } = this;
    for (let head = 0; head < options.heads; head++) {
      let dot = 0;
      let a = 0;
      let b = 0;
      for (let i = head * headDim; i < (head + 1) * headDim; i++) {
        dot += out[i] * this.shadowOut[i];
        a += out[i] * out[i];
        b += this.shadowOut[i] * this.shadowOut[i];
      }
      this.cosineSum += a > 0 && b > 0 ? dot / Math.sqrt(a * b) : a === b ? 1 : 0;
      this.cosineCount += 1;
    }
  }

  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void {
    this.inner.readLayer(layer, keysOut, valuesOut);
  }

  truncate(length: number): void {
    this.shadow.truncate(length);
    this.inner.truncate(length);
  }

  byteLength(): number {
    return this.inner.byteLength();
  }
}
