import { resolveBackend, type KernelBackend } from "@kvpack/kernels";
import type { BackendInfo, BackendName } from "../worker/protocol.js";
import { PlaygroundError } from "./plain-error.js";

export interface PlaygroundBackend {
  readonly info: BackendInfo;
  readonly kernels: KernelBackend;
}

const reasonsInPlainWords: Record<BackendName, string> = {
  webgpu: "WebGPU is not available in this browser",
  wasm: "WebAssembly could not start in this browser",
  ts: "the plain JavaScript kernels could not start",
};

/**
 * Tries the backends in the order given and keeps the first that starts, remembering why each
 * earlier one was skipped so the page can say so.
 */
export async function resolvePlaygroundBackend(preferred: readonly BackendName[]): Promise<PlaygroundBackend> {
  const skipped: string[] = [];
  for (const name of preferred) {
    try {
      const kernels = await resolveBackend([name]);
      const detail = name === "webgpu" ? await describeAdapter() : name === "wasm" ? describeWasm(kernels) : "plain TypeScript kernels";
      return { info: { name, skipped, detail }, kernels };
    } catch (error) {
      const reason = error instanceof Error ? error.message.replace(/^No kernel backend could be initialised:\s*/, "").replace(/^-\s*\w+:\s*/, "").trim() : String(error);
      skipped.push(`${reasonsInPlainWords[name]} (${reason})`);
    }
  }
  throw new PlaygroundError(`None of the requested compute backends (${preferred.join(", ")}) could start: ${skipped.join("; ")}.`);
}

/** "WebAssembly SIMD kernels on 8 threads", or on 1 thread with the reason (e.g. the page is not cross-origin isolated). */
function describeWasm(kernels: KernelBackend): string {
  const threading = kernels.threading;
  if (!threading || threading.threads === 1) return `WebAssembly SIMD kernels on 1 thread${threading?.reason ? ` (${threading.reason})` : ""}`;
  return `WebAssembly SIMD kernels, matmuls on ${threading.threads} threads`;
}

async function describeAdapter(): Promise<string> {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    const info = adapter?.info;
    return info ? `WebGPU on ${[info.vendor, info.architecture, info.description].filter(Boolean).join(" ") || "an unnamed adapter"}` : "WebGPU";
  } catch {
    return "WebGPU";
  }
}
