import type { BackendName, KernelBackend } from "./kernel-backend.js";
import { BackendUnavailableError, type BackendFailure } from "./kernel-errors.js";
import { KernelInputError } from "./kernel-errors.js";
import { createTypeScriptBackend } from "./ts/typescript-backend.js";
import { createWasmBackend, type WasmBackendOptions } from "./wasm/wasm-backend.js";
import { createWebGpuBackend, type WebGpuBackendOptions } from "./webgpu/webgpu-backend.js";

export type BackendHint = BackendName | KernelBackend;

export interface ResolveBackendOptions {
  /** Passed to `createWebGpuBackend` when "webgpu" is requested by name. */
  readonly webgpu?: WebGpuBackendOptions;
  /** Passed to `createWasmBackend` when "wasm" is requested by name (e.g. `{ threads: 1 }`). */
  readonly wasm?: WasmBackendOptions;
}

function createByName(name: BackendName, options: ResolveBackendOptions): KernelBackend {
  switch (name) {
    case "ts":
      return createTypeScriptBackend();
    case "wasm":
      return createWasmBackend(options.wasm);
    case "webgpu":
      return createWebGpuBackend(options.webgpu);
    default:
      throw new KernelInputError("resolveBackend", `unknown backend "${name as string}"; expected webgpu, wasm or ts`);
  }
}

/**
 * Initialises candidates in order (for "auto": webgpu, wasm, ts, by priority) and returns the first
 * whose `init()` succeeds. Failures are recorded; when none works, one error lists every reason.
 */
export async function resolveBackend(
  hints: "auto" | readonly BackendHint[],
  options: ResolveBackendOptions = {},
): Promise<KernelBackend> {
  const requested: readonly BackendHint[] = hints === "auto" ? ["webgpu", "wasm", "ts"] : hints;
  if (requested.length === 0) throw new KernelInputError("resolveBackend", "no backend requested");
  let candidates = requested.map((hint) => (typeof hint === "string" ? createByName(hint, options) : hint));
  if (hints === "auto") candidates = [...candidates].sort((a, b) => b.priority - a.priority);
  const failures: BackendFailure[] = [];
  for (const backend of candidates) {
    try {
      await backend.init();
      return backend;
    } catch (error) {
      failures.push({ name: backend.name, reason: error instanceof Error ? error.message : String(error) });
    }
  }
  throw new BackendUnavailableError(failures);
}
