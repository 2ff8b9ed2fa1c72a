// The kernels' main module: asm/kernels.ts (with the quantized and batched matmuls it imports).
import { compileEmbeddedWasm } from "./compile-embedded-wasm.mjs";

compileEmbeddedWasm({
  entry: "asm/kernels.ts",
  imports: ["asm/quantized-matmul.ts", "asm/matmul-batch.ts"],
  name: "kernels",
  exportName: "kernelsWasmBase64",
  script: import.meta.url,
});
