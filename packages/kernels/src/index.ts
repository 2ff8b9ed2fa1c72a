export type {
  BackendName,
  BackendThreading,
  DecodeKernel,
  KernelBackend,
  KernelPrecision,
  KernelSet,
} from "./kernel-backend.js";
export type {
  AttentionShape,
  CodebookInput,
  CodeInput,
  CompressedAttentionInputs,
  CompressedRows,
  DecodeInputs,
  DenseAttentionInputs,
  DeviceArray,
  DeviceArrayType,
  EncodeInputs,
  EncodeResult,
  FloatInput,
  MatmulInputs,
  QuantizedMatmulBatchInputs,
  QuantizedMatmulInputs,
  RmsNormInputs,
  RopeInputs,
  ScoresInputs,
  SwigluInputs,
  WeightFormat,
} from "./kernel-inputs.js";
export { weightBlockLayout, weightRowBytes } from "./kernel-inputs.js";
export { quantizeActivationsQ8_0, quantizedMatmulReference } from "./ts/quantized-matmul-reference.js";
export { BackendUnavailableError, KernelInputError, type BackendFailure } from "./kernel-errors.js";
export { resolveBackend, type BackendHint, type ResolveBackendOptions } from "./resolve-backend.js";
export { createTypeScriptBackend } from "./ts/typescript-backend.js";
export { createWasmBackend, type WasmBackendOptions, type WasmKernelBackend } from "./wasm/wasm-backend.js";
export { createWebGpuBackend, type GpuProvider, type WebGpuBackendOptions } from "./webgpu/webgpu-backend.js";
export {
  bitWidthForSize,
  codeRowLength,
  packCodes,
  unpackCodes,
  type CodeBitWidth,
} from "./code-layout.js";
export { prepareShells, type CodebookShells } from "./codebook-shells.js";
export { codebookInput } from "./codebook-input.js";
export { createPagedAttentionKernels } from "./wasm/paged-attention-kernels.js";
export type { PagedAttentionKernelOptions } from "./wasm/paged-attention-kernels.js";
export type { PagedAttentionKernels } from "./wasm/paged-attention-kernels.js";
export type { AttendItemsLayout } from "./wasm/attend-items-layout.js";
export { WasmHeap } from "./wasm/wasm-heap.js";
