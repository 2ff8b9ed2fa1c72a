/** WebGPU in Node for benchmarks: Dawn through the `webgpu` package, on SwiftShader Vulkan or Mesa OpenGL ES. */
import { createRequire } from "node:module";
import { createWebGpuBackend, type GpuProvider, type KernelBackend } from "@kvpack/kernels";

export interface BackendEntry {
  readonly backend: KernelBackend;
  readonly note: string;
}

export async function nodeWebGpu(): Promise<BackendEntry | { skipped: string }> {
  // `webgpu` is a dev dependency of @kvpack/kernels; resolve it from there.
  const require = createRequire(new URL("../../../packages/kernels/package.json", import.meta.url));
  let create: (flags: string[]) => GpuProvider;
  try {
    ({ create } = require("webgpu") as { create: (flags: string[]) => GpuProvider });
  } catch (error) {
    return { skipped: `webgpu package not loadable: ${String(error)}` };
  }
  process.env.VK_ICD_FILENAMES ??= "/usr/lib/chromium/vk_swiftshader_icd.json";
  const vulkan = create([]);
  if (await vulkan.requestAdapter()) {
    const backend = createWebGpuBackend({ gpu: vulkan });
    await backend.init();
    return { backend, note: "Node webgpu, SwiftShader Vulkan (CPU)" };
  }
  process.env.EGL_PLATFORM ??= "surfaceless";
  const gles = create(["backend=opengles"]);
  if (await gles.requestAdapter({ featureLevel: "compatibility" })) {
    const backend = createWebGpuBackend({ gpu: gles, featureLevel: "compatibility" });
    await backend.init();
    return { backend, note: "Node webgpu, Mesa llvmpipe OpenGL ES (CPU)" };
  }
  return { skipped: "no WebGPU adapter (needs libvulkan1 + VK_ICD_FILENAMES, or Mesa EGL)" };
}
