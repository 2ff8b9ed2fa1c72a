import { beforeAll, describe, expect, it } from "vitest";
import { loadOnnxRuntimeNode } from "./load-onnx-runtime-node.js";
import { createOnnxDecoder } from "./onnx-decoder.js";
import { OnnxDecoderError } from "./onnx-decoder-error.js";
import type { OnnxRuntimeModule } from "./onnx-runtime-module.js";

// Keep ONNX Runtime from writing telemetry files; it reads this when the native module loads.
process.env.ORT_DISABLE_TELEMETRY = "1";

// End-to-end runs of a real exported model live in tools/export-onnx (it builds the model);
// these tests cover what needs no model: loading the runtime and rejecting bad input.
describe("createOnnxDecoder", () => {
  let ort: OnnxRuntimeModule;
  beforeAll(async () => {
    ort = await loadOnnxRuntimeNode();
  });

  async function rejection(promise: Promise<unknown>): Promise<OnnxDecoderError> {
    try {
      await promise;
    } catch (error) {
      if (OnnxDecoderError.isInstance(error)) return error;
      throw error;
    }
    throw new Error("expected an OnnxDecoderError");
  }

  it("loads onnxruntime-node dynamically", () => {
    expect(typeof ort.InferenceSession.create).toBe("function");
    expect(typeof ort.Tensor).toBe("function");
  });

  it("reports malformed model bytes as invalid-model, with ONNX Runtime's reason", async () => {
    const garbage = new TextEncoder().encode("this is not an ONNX protobuf");
    const error = await rejection(createOnnxDecoder({ ort, model: garbage }));
    expect(error.code).toBe("invalid-model");
    expect(error.message).toMatch(/^createOnnxDecoder: ONNX Runtime could not load the model \(28 bytes\): .+/);
    expect(error.cause).toBeDefined();
  });

  it("rejects empty bytes, a missing file and a non-runtime `ort`", async () => {
    expect((await rejection(createOnnxDecoder({ ort, model: new Uint8Array(0) }))).code).toBe("invalid-model");
    const missing = await rejection(createOnnxDecoder({ ort, model: "/nonexistent/model.onnx" }));
    expect(missing.code).toBe("invalid-model");
    expect(missing.message).toContain('"/nonexistent/model.onnx"');
    const notRuntime = await rejection(createOnnxDecoder({ ort: {} as OnnxRuntimeModule, model: new Uint8Array(4) }));
    expect(notRuntime.code).toBe("bad-argument");
  });
});
