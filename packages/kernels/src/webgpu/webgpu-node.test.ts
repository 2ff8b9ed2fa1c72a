import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { create } from "webgpu";
import { conformanceCases } from "../conformance/conformance-cases.js";
import { runConformanceCase } from "../conformance/run-conformance-case.js";
import type { KernelBackend } from "../kernel-backend.js";
import { createTypeScriptBackend } from "../ts/typescript-backend.js";
import { findNodeGpu } from "../testing/node-gpu.js";
import { createWebGpuBackend } from "./webgpu-backend.js";

// WebGPU in Node through Dawn (`webgpu` package). CI exports
// VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (Chromium's SwiftShader); findNodeGpu
// sets the same default and falls back to Mesa's OpenGL ES route when libvulkan1 is missing.
// Every case keeps buffers ≤ 256K floats, the size SwiftShader handles reliably on this route.

const oracle = createTypeScriptBackend();
let backend: KernelBackend;

beforeAll(async () => {
  const found = await findNodeGpu(create);
  // Here it must work: a missing adapter fails the suite with the reason rather than skipping.
  if ("failure" in found) throw new Error(found.failure);
  console.log(`webgpu conformance in Node via ${found.route}`);
  backend = createWebGpuBackend(found.options);
  await backend.init();
});

afterAll(() => backend?.dispose());

describe("conformance: webgpu backend (Node, Dawn)", () => {
  // Skip list: none.
  test.each(conformanceCases.map((testCase) => [testCase.name, testCase] as const))("%s", async (_name, testCase) => {
    const outcome = await runConformanceCase(backend, oracle, testCase);
    expect(outcome.passed, `${outcome.name}: ${outcome.detail} (excess ${outcome.worstExcess})`).toBe(true);
  });
});
