import { createOnnxDecoder, loadLlama2cCheckpoint, loadOnnxRuntimeNode, type OnnxDecoder } from "@kvpack/adapters";
import { DenseKVCache } from "@kvpack/cache";
import * as ortWeb from "onnxruntime-web";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportLlamaDecoderOnnx } from "./llama-decoder-graph.js";
import { maxAbsDifference, readModelReference, readModelsData, type ModelReference } from "./test-support/models-data.js";

// The browser runtime (onnxruntime-web's wasm backend) also runs in Node (toolchain.md, 4b); the
// same exported model must give the same logits and tokens through it as through onnxruntime-node.
describe("the exported stories260K through onnxruntime-web (wasm backend)", () => {
  let reference: ModelReference;
  let web: OnnxDecoder;
  let native: OnnxDecoder;
  const newCache = () => new DenseKVCache({ layers: 5, kvHeads: 4, headDim: 8, capacity: 512 });

  beforeAll(async () => {
    reference = readModelReference("stories260K.reference.json");
    const model = exportLlamaDecoderOnnx(loadLlama2cCheckpoint(readModelsData("stories260K.bin")));
    // One thread: no worker threads in the test process, and deterministic summation order.
    ortWeb.env.wasm.numThreads = 1;
    web = await createOnnxDecoder({ ort: ortWeb, model, sessionOptions: { executionProviders: ["wasm"] } });
    native = await createOnnxDecoder({ ort: await loadOnnxRuntimeNode(), model });
  });

  afterAll(async () => {
    await web?.release();
    await native?.release();
  });

  it("prefill and decode-step logits match onnxruntime-node and the reference JSON", async () => {
    const sequence = reference.greedy_token_ids.slice(0, reference.prompt_token_ids.length + 4);
    const promptLength = reference.prompt_token_ids.length;
    const webCache = newCache();
    const nativeCache = newCache();
    const webPrefill = await web.forward(sequence.slice(0, promptLength), webCache);
    const nativePrefill = await native.forward(sequence.slice(0, promptLength), nativeCache);
    const last = webPrefill.subarray((promptLength - 1) * 512);
    // Reference JSON: independent float64 run.c, 5 decimals; 1e-4 as for onnxruntime-node.
    expect(maxAbsDifference(last, reference.last_position_logits_for_prompt)).toBeLessThan(1e-4);
    // Two fp32 CPU kernels (MLAS vs wasm) differ only in summation order: 2e-5 on logits ≲ 15.
    expect(maxAbsDifference(webPrefill, nativePrefill)).toBeLessThan(2e-5);
    for (let position = promptLength; position < sequence.length; position++) {
      const webStep = await web.forward([sequence[position]], webCache);
      const nativeStep = await native.forward([sequence[position]], nativeCache);
      expect(maxAbsDifference(webStep, nativeStep)).toBeLessThan(2e-5);
    }
  });

  it("greedy decoding reproduces the reference greedy_token_ids", async () => {
    const ids = await web.generateGreedy(reference.prompt_token_ids, reference.steps + 1, newCache(), { stopTokenIds: [1] });
    expect(ids).toEqual(reference.greedy_token_ids);
  });
});
