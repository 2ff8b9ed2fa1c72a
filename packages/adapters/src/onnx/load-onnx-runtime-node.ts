import type { OnnxRuntimeModule } from "./onnx-runtime-module.js";
import { OnnxDecoderError } from "./onnx-decoder-error.js";

/**
 * Dynamically imports `onnxruntime-node` (an optional dependency). The specifier is a variable
 * so browser bundlers do not try to resolve the native module; in the browser, import
 * `onnxruntime-web` yourself and pass it as `ort`.
 *
 * Set ORT_DISABLE_TELEMETRY=1 in the environment to keep ONNX Runtime from writing telemetry files.
 */
export async function loadOnnxRuntimeNode(): Promise<OnnxRuntimeModule> {
  const specifier = "onnxruntime-node";
  let loaded: Record<string, unknown>;
  try {
    loaded = (await import(/* @vite-ignore */ specifier)) as Record<string, unknown>;
  } catch (error) {
    throw new OnnxDecoderError(
      "runtime-unavailable",
      `loadOnnxRuntimeNode: could not import onnxruntime-node (${error instanceof Error ? error.message : String(error)}); install onnxruntime-node 1.30.0, or pass onnxruntime-web as ort`,
      { cause: error },
    );
  }
  // onnxruntime-node is CommonJS: depending on the loader its exports arrive as named exports or under `default`.
  const module = (typeof loaded.InferenceSession === "function" ? loaded : loaded.default) as OnnxRuntimeModule | undefined;
  if (!module || typeof module.InferenceSession?.create !== "function" || typeof module.Tensor !== "function") {
    throw new OnnxDecoderError("runtime-unavailable", "loadOnnxRuntimeNode: onnxruntime-node loaded but exports no InferenceSession/Tensor");
  }
  return module;
}
