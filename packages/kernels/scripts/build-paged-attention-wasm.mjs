// The cache's partial-attention kernels (asm/paged-attention.ts) in a module of their own, with its
// own memory: the cache's resident rows never share a heap with weights.
import { compileEmbeddedWasm } from "./compile-embedded-wasm.mjs";

compileEmbeddedWasm({
  entry: "asm/paged-attention.ts",
  imports: ["asm/exp4.ts"],
  name: "paged-attention",
  exportName: "pagedAttentionWasmBase64",
  script: import.meta.url,
});
