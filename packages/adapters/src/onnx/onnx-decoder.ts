import type { KVCache } from "@kvpack/cache";
import type { InferenceSession, Tensor } from "onnxruntime-common";
import { float16BitsToNumber, numberToFloat16Bits } from "../model/half-float.js";
import { readDecoderSignature, type DecoderSignature, type DecoderSignatureOverrides } from "./decoder-signature.js";
import { OnnxDecoderError } from "./onnx-decoder-error.js";
import type { OnnxExternalDataFile } from "./onnx-external-data.js";
import type { OnnxRuntimeModule } from "./onnx-runtime-module.js";

export interface OnnxDecoderOptions extends DecoderSignatureOverrides {
  /** The ONNX Runtime module: `await loadOnnxRuntimeNode()` in Node, `import * as ort from "onnxruntime-web"` in the browser. */
  readonly ort: OnnxRuntimeModule;
  /** Model bytes, or a path (Node) / URL (web) ONNX Runtime can load. */
  readonly model: Uint8Array | ArrayBuffer | string;
  /**
   * The model's ONNX external data files (loadModelFolder's `weights.externalData`: the location
   * the model names, and its bytes), given to ONNX Runtime as the `externalData` session option;
   * onnxruntime-node and onnxruntime-web both take it. Not needed when `model` is a Node path, whose
   * directory ONNX Runtime reads them from.
   */
  readonly externalData?: readonly OnnxExternalDataFile[];
  /** Passed to InferenceSession.create (execution providers, threads, graph optimization level). */
  readonly sessionOptions?: InferenceSession.SessionOptions;
}

export interface OnnxForwardOptions {
  /**
   * Position id of the first new token. Defaults to the cache length, which is right unless the
   * cache has evicted tokens; an evicting cache's caller passes the absolute position.
   */
  readonly position?: number;
}

export interface OnnxGreedyOptions {
  /** Generation stops after emitting one of these (e.g. BOS for llama2.c run.c, EOS for chat models). */
  readonly stopTokenIds?: readonly number[];
}

/** float32 values as IEEE half bit patterns (what ONNX Runtime's float16 tensors hold). */
function toFloat16(values: Float32Array): Uint16Array {
  const bits = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) bits[i] = numberToFloat16Bits(values[i]);
  return bits;
}

/** A float16 (Uint16Array bits, or a Float16Array where the platform has one) or float32 tensor's values as float32. */
function toFloat32(tensor: Tensor): Float32Array {
  if (tensor.type === "float32") return tensor.data as Float32Array;
  const data = tensor.data as ArrayLike<number>;
  const out = new Float32Array(data.length);
  if (data instanceof Uint16Array) for (let i = 0; i < data.length; i++) out[i] = float16BitsToNumber(data[i]);
  else for (let i = 0; i < data.length; i++) out[i] = data[i];
  return out;
}

/** Wraps ONNX Runtime's error with what the adapter was doing. */
function wrapRuntimeError(code: "invalid-model" | "run-failed", what: string, error: unknown): OnnxDecoderError {
  const detail = error instanceof Error ? error.message : String(error);
  return new OnnxDecoderError(code, `${what}: ${detail}`, { cause: error });
}

/**
 * Runs a decoder-with-past ONNX model over a kvpack KVCache. Each call feeds the cache's
 * contents as past_key_values (through `cache.readLayer`, so a compressed cache's
 * reconstruction is what the model attends to) and appends the new positions of
 * present.N.key / .value to the cache, per layer and per token. float16 models (transformers.js
 * `model_fp16.onnx`) are converted at the boundary: the cache holds float32 (or its own compressed
 * form), the past is rounded to float16 when fed, present and logits widened when read.
 */
export class OnnxDecoder {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly signature: DecoderSignature;
  private vocabSizeKnown: number | undefined;
  private readonly ort: OnnxRuntimeModule;
  private readonly session: InferenceSession;
  private readonly tokenKeys: Float32Array;
  private readonly tokenValues: Float32Array;

  /** Use `createOnnxDecoder`; this constructor takes an already created session. */
  constructor(ort: OnnxRuntimeModule, session: InferenceSession, signature: DecoderSignature) {
    this.ort = ort;
    this.session = session;
    this.signature = signature;
    this.layers = signature.layers;
    this.kvHeads = signature.kvHeads;
    this.headDim = signature.headDim;
    this.vocabSizeKnown = signature.vocabSize;
    this.tokenKeys = new Float32Array(signature.kvHeads * signature.headDim);
    this.tokenValues = new Float32Array(signature.kvHeads * signature.headDim);
  }

  /** Vocabulary size from the model's logits shape, or from the first run when it is symbolic. */
  get vocabSize(): number | undefined {
    return this.vocabSizeKnown;
  }

  private checkCache(cache: KVCache): number {
    if (cache.layers !== this.layers || cache.kvHeads !== this.kvHeads || cache.headDim !== this.headDim) {
      throw new OnnxDecoderError(
        "bad-argument",
        `ONNX decoder: the cache is ${cache.layers} layers × ${cache.kvHeads} KV heads × ${cache.headDim}, the model needs ${this.layers} × ${this.kvHeads} × ${this.headDim}`,
      );
    }
    const past = cache.length(0);
    for (let layer = 1; layer < this.layers; layer++) {
      if (cache.length(layer) !== past) {
        throw new OnnxDecoderError("bad-argument", `ONNX decoder: cache layers disagree on length (layer 0 has ${past}, layer ${layer} has ${cache.length(layer)}); finish or truncate the previous step first`);
      }
    }
    return past;
  }

  /**
   * Runs `tokenIds` (a prefill of many tokens or a single decode step) after what `cache` holds,
   * appends their keys and values to `cache`, and returns the logits, tokens × vocabSize.
   */
  async forward(tokenIds: ArrayLike<number>, cache: KVCache, options: OnnxForwardOptions = {}): Promise<Float32Array> {
    const sequence = tokenIds.length;
    if (sequence === 0) throw new OnnxDecoderError("bad-argument", "ONNX decoder: forward needs at least one token");
    const past = this.checkCache(cache);
    const start = options.position ?? past;
    if (!(Number.isInteger(start) && start >= 0)) throw new OnnxDecoderError("bad-argument", `ONNX decoder: position must be a non-negative integer, got ${start}`);
    const ids = new BigInt64Array(sequence);
    for (let i = 0; i < sequence; i++) {
      const id = tokenIds[i];
      if (!(Number.isInteger(id) && id >= 0 && (this.vocabSizeKnown === undefined || id < this.vocabSizeKnown))) {
        throw new OnnxDecoderError("bad-argument", `ONNX decoder: token id at index ${i} is ${id}, expected an integer in [0, ${this.vocabSizeKnown ?? "vocab"})`);
      }
      ids[i] = BigInt(id);
    }
    const { Tensor } = this.ort;
    const total = past + sequence;
    const feeds: Record<string, Tensor> = {
      input_ids: new Tensor("int64", ids, [1, sequence]),
      attention_mask: new Tensor("int64", new BigInt64Array(total).fill(1n), [1, total]),
    };
    if (this.signature.hasPositionIds) {
      const positions = new BigInt64Array(sequence);
      for (let i = 0; i < sequence; i++) positions[i] = BigInt(start + i);
      feeds.position_ids = new Tensor("int64", positions, [1, sequence]);
    }
    if (this.signature.hasUseCacheBranch) feeds.use_cache_branch = new Tensor("bool", Uint8Array.of(past > 0 ? 1 : 0), [1]);
    // 0 = logits of every new position (forward's contract), as transformers.js passes in forward.
    if (this.signature.hasNumLogitsToKeep) feeds.num_logits_to_keep = new Tensor("int64", BigInt64Array.of(0n), []);
    const half = this.signature.pastType === "float16";
    const layerSize = this.kvHeads * past * this.headDim;
    for (let layer = 0; layer < this.layers; layer++) {
      const keys = new Float32Array(layerSize);
      const values = new Float32Array(layerSize);
      if (past > 0) cache.readLayer(layer, keys, values);
      const dims = [1, this.kvHeads, past, this.headDim];
      feeds[`past_key_values.${layer}.key`] = half ? new Tensor("float16", toFloat16(keys), dims) : new Tensor("float32", keys, dims);
      feeds[`past_key_values.${layer}.value`] = half ? new Tensor("float16", toFloat16(values), dims) : new Tensor("float32", values, dims);
    }

    let results: InferenceSession.ReturnType;
    try {
      results = await this.session.run(feeds);
    } catch (error) {
      throw wrapRuntimeError("run-failed", `ONNX decoder: running ${sequence} token(s) after ${past} cached failed`, error);
    }

    for (let layer = 0; layer < this.layers; layer++) {
      const presentKeys = this.floatOutput(results, `present.${layer}.key`, total);
      const presentValues = this.floatOutput(results, `present.${layer}.value`, total);
      // present is [1, kvHeads, total, headDim]; the cache takes one token's kvHeads × headDim at a time.
      for (let t = past; t < total; t++) {
        for (let kvHead = 0; kvHead < this.kvHeads; kvHead++) {
          const from = (kvHead * total + t) * this.headDim;
          this.tokenKeys.set(presentKeys.subarray(from, from + this.headDim), kvHead * this.headDim);
          this.tokenValues.set(presentValues.subarray(from, from + this.headDim), kvHead * this.headDim);
        }
        cache.append(layer, this.tokenKeys, this.tokenValues);
      }
    }

    const logits = results.logits;
    const logitsType = this.signature.logitsType;
    if (!logits || logits.type !== logitsType || logits.dims.length !== 3 || logits.dims[1] !== sequence) {
      throw new OnnxDecoderError("bad-signature", `ONNX decoder: expected logits ${logitsType} [1, ${sequence}, vocab], got ${logits ? `${logits.type} [${logits.dims.join(", ")}]` : "none"}`);
    }
    this.vocabSizeKnown ??= logits.dims[2];
    return toFloat32(logits);
  }

  private floatOutput(results: InferenceSession.ReturnType, name: string, total: number): Float32Array {
    const tensor = results[name];
    const expected = [1, this.kvHeads, total, this.headDim];
    const type = this.signature.pastType;
    if (!tensor || tensor.type !== type || tensor.dims.join(",") !== expected.join(",")) {
      throw new OnnxDecoderError("bad-signature", `ONNX decoder: expected ${name} ${type} [${expected.join(", ")}], got ${tensor ? `${tensor.type} [${tensor.dims.join(", ")}]` : "none"}`);
    }
    return toFloat32(tensor);
  }

  /**
   * Greedy decoding with llama2.c run.c semantics: prefill `promptIds` in one run, then append the
   * argmax token one step at a time until the sequence holds `totalLength` tokens (prompt
   * included) or a stop token is emitted. Returns the whole sequence.
   */
  async generateGreedy(promptIds: readonly number[], totalLength: number, cache: KVCache, options: OnnxGreedyOptions = {}): Promise<number[]> {
    if (promptIds.length === 0) throw new OnnxDecoderError("bad-argument", "ONNX decoder: generateGreedy needs a non-empty prompt");
    const sequence = [...promptIds];
    const stop = new Set(options.stopTokenIds ?? []);
    let logits = await this.forward(promptIds, cache);
    while (sequence.length < totalLength) {
      const vocabSize = this.vocabSizeKnown as number;
      const next = argmax(logits, logits.length - vocabSize, vocabSize);
      if (stop.has(next)) break;
      sequence.push(next);
      if (sequence.length >= totalLength) break;
      logits = await this.forward([next], cache);
    }
    return sequence;
  }

  /** Frees the ONNX Runtime session. */
  async release(): Promise<void> {
    await this.session.release();
  }
}

function argmax(values: Float32Array, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

/**
 * Creates an ONNX Runtime session for a decoder-with-past model and checks its signature.
 * Throws `OnnxDecoderError` ("invalid-model") when ONNX Runtime rejects the bytes, and
 * ("missing-input" / "missing-output" / "bad-signature") when the model is not such a decoder.
 */
export async function createOnnxDecoder(options: OnnxDecoderOptions): Promise<OnnxDecoder> {
  const { ort, model } = options;
  if (!ort || typeof ort.InferenceSession?.create !== "function" || typeof ort.Tensor !== "function") {
    throw new OnnxDecoderError("bad-argument", "createOnnxDecoder: `ort` must be an ONNX Runtime module (onnxruntime-node or onnxruntime-web)");
  }
  const source = model instanceof ArrayBuffer ? new Uint8Array(model) : model;
  if (typeof source !== "string" && !(source instanceof Uint8Array)) {
    throw new OnnxDecoderError("bad-argument", "createOnnxDecoder: `model` must be bytes (Uint8Array / ArrayBuffer) or a path / URL string");
  }
  if (typeof source !== "string" && source.byteLength === 0) throw new OnnxDecoderError("invalid-model", "createOnnxDecoder: the model bytes are empty");
  const externalData = options.externalData ?? [];
  const sessionOptions = externalData.length === 0 ? options.sessionOptions : { ...options.sessionOptions, externalData: [...(options.sessionOptions?.externalData ?? []), ...externalData] };
  let session: InferenceSession;
  try {
    session = typeof source === "string" ? await ort.InferenceSession.create(source, sessionOptions) : await ort.InferenceSession.create(source, sessionOptions);
  } catch (error) {
    throw wrapRuntimeError("invalid-model", `createOnnxDecoder: ONNX Runtime could not load the model${typeof source === "string" ? ` "${source}"` : ` (${source.byteLength} bytes)`}`, error);
  }
  try {
    return new OnnxDecoder(ort, session, readDecoderSignature(session.inputMetadata, session.outputMetadata, options));
  } catch (error) {
    await session.release();
    throw error;
  }
}
