import { beforeAll, describe, expect, test } from "vitest";
import type { KernelBackend } from "../kernel-backend.js";
import { createTypeScriptBackend } from "../ts/typescript-backend.js";
import { createWasmBackend } from "../wasm/wasm-backend.js";
import { quantizedMatmulCases } from "./quantized-matmul-cases.js";
import { runQuantizedMatmulCase } from "./run-quantized-matmul-case.js";

// WebGPU has no quantizedMatmul yet (its weightFormats is absent), so only wasm runs these.
const oracle = createTypeScriptBackend();

describe("conformance: quantizedMatmul on the wasm backend", () => {
  let backend: KernelBackend;
  beforeAll(async () => {
    backend = createWasmBackend();
    await backend.init();
  });
  test("lists q8_0, q4_0, f16, q4_k, q6_k, q4_1 and q5_0", () => {
    expect(backend.weightFormats).toEqual(["q8_0", "q4_0", "f16", "q4_k", "q6_k", "q4_1", "q5_0"]);
  });
  test.each(quantizedMatmulCases.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
    const outcome = await runQuantizedMatmulCase(backend, oracle, testCase);
    expect(outcome.passed, `${outcome.name}: ${outcome.detail} (excess ${outcome.worstExcess})`).toBe(true);
  });
});
