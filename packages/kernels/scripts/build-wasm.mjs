// The kernels' main module: asm/kernels.ts (with the quantized and batched matmuls it imports), built
// twice from the same source: with its own memory (one thread), and importing a shared memory that
// the thread pool's workers instantiate the same code over (--enable threads --sharedMemory).
import { compileEmbeddedWasm, sharedMemoryFlags } from "./compile-embedded-wasm.mjs";

const imports = ["asm/exp4.ts", "asm/swiglu.ts", "asm/quantized-matmul.ts", "asm/quantized-matmul-k.ts", "asm/quantized-matmul-legacy.ts", "asm/matmul-batch.ts", "asm/quantized-matmul-batch.ts"];

compileEmbeddedWasm({
  entry: "asm/kernels.ts",
  imports,
  name: "kernels",
  exportName: "kernelsWasmBase64",
  script: import.meta.url,
});

// 1 initial page holds the module's constant data (the math tables, about 8 KB); the maximum is
// wasm32's 4 GiB, which only reserves address space (a smaller maximum can be passed at runtime).
const initialPages = 1;
const maximumPages = 65536;
compileEmbeddedWasm({
  entry: "asm/kernels.ts",
  imports,
  name: "kernels-shared",
  exportName: "kernelsSharedWasmBase64",
  script: import.meta.url,
  flags: sharedMemoryFlags(initialPages, maximumPages),
  constants: { kernelsSharedInitialPages: initialPages, kernelsSharedMaximumPages: maximumPages },
});
