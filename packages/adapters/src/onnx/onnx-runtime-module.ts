import type { InferenceSession, Tensor } from "onnxruntime-common";

/**
 * The part of an ONNX Runtime module the decoder uses. Both `onnxruntime-node` and
 * `onnxruntime-web` (any of its entry points: default, `/wasm`, `/webgpu`) satisfy it, so the
 * caller injects whichever fits the platform and this package never imports either one itself.
 */
export interface OnnxRuntimeModule {
  readonly InferenceSession: {
    create(buffer: Uint8Array, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
    create(path: string, options?: InferenceSession.SessionOptions): Promise<InferenceSession>;
  };
  readonly Tensor: {
    new (type: "int64", data: BigInt64Array, dims: readonly number[]): Tensor;
    new (type: "float32", data: Float32Array, dims: readonly number[]): Tensor;
    new (type: "float16", data: Uint16Array, dims: readonly number[]): Tensor;
    new (type: "bool", data: Uint8Array, dims: readonly number[]): Tensor;
  };
}
