import { describe, expect, test, beforeAll } from "vitest";
import type { KernelBackend } from "../kernel-backend.js";
import { createTypeScriptBackend } from "../ts/typescript-backend.js";
import { createWasmBackend } from "../wasm/wasm-backend.js";
import { conformanceCases } from "./conformance-cases.js";
import { runConformanceCase } from "./run-conformance-case.js";

// The ts backend is the oracle; it is checked against closed forms in src/ts/*.test.ts.
// Skip lists per backend (none needed today): wasm —; webgpu runs in webgpu-node.test.ts and
// the Chromium test.
const oracle = createTypeScriptBackend();

describe.each([
  { name: "wasm", create: () => createWasmBackend() },
  // The histogram value path on every case, not only those over 4096 tokens.
  { name: "wasm (value histogram always)", create: () => createWasmBackend({ histogramMinimumTokens: 1 }) },
])("conformance: $name backend", ({ create }) => {
  let backend: KernelBackend;
  beforeAll(async () => {
    backend = create();
    await backend.init();
  });
  test.each(conformanceCases.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
    const outcome = await runConformanceCase(backend, oracle, testCase);
    expect(outcome.passed, `${outcome.name}: ${outcome.detail} (excess ${outcome.worstExcess})`).toBe(true);
  });
});
