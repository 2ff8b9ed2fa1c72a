// Browser entry of the Chromium conformance test: bundled by esbuild, loaded from a local page.
// Runs the shared conformance suite on navigator.gpu (and the wasm backend, to check the embedded
// module loads in a bundle) and publishes the outcomes on window for playwright to read.
import { conformanceCases } from "../conformance/conformance-cases.js";
import { runConformanceCase, type CaseOutcome } from "../conformance/run-conformance-case.js";
import { createTypeScriptBackend } from "../ts/typescript-backend.js";
import { createWasmBackend } from "../wasm/wasm-backend.js";
import { createWebGpuBackend } from "../webgpu/webgpu-backend.js";

interface PageResults {
  readonly adapter: string;
  readonly outcomes: Array<CaseOutcome & { readonly backend: string }>;
  readonly error?: string;
}

async function main(): Promise<PageResults> {
  const oracle = createTypeScriptBackend();
  const adapter = await navigator.gpu?.requestAdapter();
  const adapterName = adapter ? `${adapter.info.vendor} ${adapter.info.architecture} ${adapter.info.description}`.trim() : "none";
  const outcomes: PageResults["outcomes"] = [];
  for (const backend of [createWebGpuBackend(), createWasmBackend()]) {
    await backend.init();
    for (const testCase of conformanceCases) {
      outcomes.push({ backend: backend.name, ...(await runConformanceCase(backend, oracle, testCase)) });
    }
    backend.dispose();
  }
  return { adapter: adapterName, outcomes };
}

const target = window as unknown as { kernelResults?: PageResults };
main().then(
  (results) => (target.kernelResults = results),
  (error: unknown) => (target.kernelResults = { adapter: "none", outcomes: [], error: String(error) }),
);
