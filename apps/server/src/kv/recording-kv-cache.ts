import type { AttentionOptions, KVCache } from "@kvpack/cache";

/**
 * Wraps a KVCache and copies every appended key/value row, token-major ([token][layer][kvHead·headDim]),
 * while recording is on. Replaying those rows into a fresh cache of the same configuration
 * reproduces the cache bit for bit (the codec sees exactly the same inputs), which is what the
 * prefix cache relies on to share prompt pages between requests.
 */
export class RecordingKVCache implements KVCache {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  private readonly rowFloats: number;
  private keys = new Float32Array(0);
  private values = new Float32Array(0);
  private recordedRows = 0;
  private recording = false;
  private firstRecordedToken = 0;

  constructor(readonly inner: KVCache) {
    this.layers = inner.layers;
    this.kvHeads = inner.kvHeads;
    this.headDim = inner.headDim;
    this.rowFloats = inner.kvHeads * inner.headDim;
  }

  /** Starts recording appends; the first recorded token is `position` (for bookkeeping by the caller). */
  startRecording(position: number, expectedTokens: number): void {
    this.recording = true;
    this.firstRecordedToken = position;
    this.recordedRows = 0;
    const floats = expectedTokens * this.layers * this.rowFloats;
    if (this.keys.length < floats) {
      this.keys = new Float32Array(floats);
      this.values = new Float32Array(floats);
    }
  }

  /** Stops recording and frees the buffers. */
  stopRecording(): void {
    this.recording = false;
    this.keys = new Float32Array(0);
    this.values = new Float32Array(0);
    this.recordedRows = 0;
  }

  get recordedFrom(): number {
    return this.firstRecordedToken;
  }

  /** Complete tokens recorded so far (every layer appended). */
  get recordedTokens(): number {
    return Math.floor(this.recordedRows / this.layers);
  }

  /** Keys and values of recorded tokens [from, to) relative to the recording start, token-major. */
  recordedRange(from: number, to: number): { keys: Float32Array; values: Float32Array } {
    const stride = this.layers * this.rowFloats;
    return { keys: this.keys.subarray(from * stride, to * stride), values: this.values.subarray(from * stride, to * stride) };
  }

  length(layer?: number): number {
    return this.inner.length(layer);
  }

  append(layer: number, keys: Float32Array, values: Float32Array): void {
    this.inner.append(layer, keys, values);
    if (!this.recording) return;
    const offset = this.recordedRows * this.rowFloats;
    if (offset + this.rowFloats > this.keys.length) {
      // Grow geometrically: a prompt longer than announced (never expected, but not an error).
      const grownKeys = new Float32Array(Math.max(this.rowFloats * this.layers, this.keys.length * 2));
      const grownValues = new Float32Array(grownKeys.length);
      grownKeys.set(this.keys);
      grownValues.set(this.values);
      this.keys = grownKeys;
      this.values = grownValues;
    }
    this.keys.set(keys, offset);
    this.values.set(values, offset);
    this.recordedRows++;
  }

  attend(layer: number, queries: Float32Array, out: Float32Array, options: AttentionOptions): void {
    this.inner.attend(layer, queries, out, options);
  }

  readLayer(layer: number, keysOut: Float32Array, valuesOut: Float32Array): void {
    this.inner.readLayer(layer, keysOut, valuesOut);
  }

  truncate(length: number): void {
    this.inner.truncate(length);
  }

  byteLength(): number {
    return this.inner.byteLength();
  }
}

/** Appends token-major rows ([token][layer][kvHead·headDim]) to a cache, as the runtime would. */
export function replayRows(cache: KVCache, keys: Float32Array, values: Float32Array, tokens: number): void {
  const rowFloats = cache.kvHeads * cache.headDim;
  for (let token = 0; token < tokens; token++) {
    for (let layer = 0; layer < cache.layers; layer++) {
      const offset = (token * cache.layers + layer) * rowFloats;
      cache.append(layer, keys.subarray(offset, offset + rowFloats), values.subarray(offset, offset + rowFloats));
    }
  }
}
