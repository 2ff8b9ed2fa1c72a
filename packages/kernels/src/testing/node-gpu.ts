/// <reference types="@webgpu/types" />
import type { WebGpuBackendOptions } from "../webgpu/webgpu-backend.js";

/** `create` of the `webgpu` package (Dawn for Node). */
export type CreateGpu = (flags: string[]) => GPU;

export interface NodeGpu {
  readonly options: WebGpuBackendOptions;
  /** Which route found an adapter, for logs. */
  readonly route: string;
}

/**
 * A WebGPU adapter for Node tests and benchmarks (not part of the published API: the package never
 * imports `webgpu`). Route A: Vulkan through Chromium's SwiftShader ICD (VK_ICD_FILENAMES, needs
 * libvulkan1). Route B: Mesa llvmpipe through Dawn's OpenGL ES backend (compatibility level).
 * Returns `{ failure }` with the reasons when neither finds an adapter.
 */
export async function findNodeGpu(create: CreateGpu): Promise<NodeGpu | { readonly failure: string }> {
  process.env.VK_ICD_FILENAMES ??= "/usr/lib/chromium/vk_swiftshader_icd.json";
  const vulkan = create([]);
  if (await vulkan.requestAdapter()) {
    return { options: { gpu: vulkan }, route: `Vulkan (VK_ICD_FILENAMES=${process.env.VK_ICD_FILENAMES})` };
  }
  process.env.EGL_PLATFORM ??= "surfaceless";
  const gles = create(["backend=opengles"]);
  if (await gles.requestAdapter({ featureLevel: "compatibility" } as GPURequestAdapterOptions)) {
    return { options: { gpu: gles, featureLevel: "compatibility" }, route: "OpenGL ES (Mesa llvmpipe, compatibility)" };
  }
  return {
    failure:
      "no WebGPU adapter: Vulkan via SwiftShader needs libvulkan1 and VK_ICD_FILENAMES; OpenGL ES needs libegl1/libgles2 (Mesa)",
  };
}
