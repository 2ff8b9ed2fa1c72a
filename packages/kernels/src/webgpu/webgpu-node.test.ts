import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { create } from "webgpu";
import { conformanceCases } from "../conformance/conformance-cases.js";
import { runConformanceCase } from "../conformance/run-conformance-case.js";
import type { KernelBackend } from "../kernel-backend.js";
import { findNodeGpu } from "../testing/node-gpu.js";
import { createTypeScriptBackend } from "../ts/typescript-backend.js";
import { createWebGpuBackend } from "./webgpu-backend.js";

// WebGPU in Node through Dawn (`webgpu` package). CI exports
// VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (Chromium's SwiftShader); findNodeGpu
// sets the same default and falls back to Mesa's OpenGL ES route when libvulkan1 is missing.
// Every case keeps buffers ≤ 256K floats, the size SwiftShader handles reliably on this route.
// Without any adapter the suite is skipped with the reason logged — except in CI (CI=true) or with
// KVPACK_REQUIRE_WEBGPU=1, where a missing adapter fails it.
const found = await findNodeGpu(create);
const missing = "failure" in found ? found.failure : undefined;
if (missing) {
  if (process.env.CI === "true" || process.env.KVPACK_REQUIRE_WEBGPU === "1") throw new Error(missing);
  console.warn(`skipping webgpu conformance in Node: ${missing}`);
}

const oracle = createTypeScriptBackend();
let backend: KernelBackend;

describe.skipIf(missing !== undefined)("conformance: webgpu backend (Node, Dawn)", () => {
  beforeAll(async () => {
    if ("failure" in found) return;
    console.log(`webgpu conformance in Node via ${found.route}`);
    backend = createWebGpuBackend(found.options);
    await backend.init();
  });
  afterAll(() => backend?.dispose());

  // Skip list: none.
  test.each(conformanceCases.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
    const outcome = await runConformanceCase(backend, oracle, testCase);
    expect(outcome.passed, `${outcome.name}: ${outcome.detail} (excess ${outcome.worstExcess})`).toBe(true);
  });
});
