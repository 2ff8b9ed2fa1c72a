// The cache's partial-attention kernels (asm/paged-attention.ts, and asm/attend-items.ts walking a
// layer's work items) in a module of their own: the cache's resident rows never share a heap with
// weights. Built twice from the same source: with its own memory (one thread), and importing a
// shared memory that a thread pool's workers instantiate the same code over.
import { compileEmbeddedWasm, sharedMemoryFlags } from "./compile-embedded-wasm.mjs";

const entry = "asm/paged-attention.ts";
const extraEntries = ["asm/attend-items.ts"];
const imports = ["asm/exp4.ts"];

compileEmbeddedWasm({
  entry,
  extraEntries,
  imports,
  name: "paged-attention",
  exportName: "pagedAttentionWasmBase64",
  script: import.meta.url,
});

// 1 initial page holds the module's constant data (exp4's constants and a 4 KB scratch); the maximum
// is wasm32's 4 GiB, which only reserves address space.
const initialPages = 1;
const maximumPages = 65536;
compileEmbeddedWasm({
  entry,
  extraEntries,
  imports,
  name: "paged-attention-shared",
  exportName: "pagedAttentionSharedWasmBase64",
  script: import.meta.url,
  flags: sharedMemoryFlags(initialPages, maximumPages),
  constants: { pagedAttentionSharedInitialPages: initialPages, pagedAttentionSharedMaximumPages: maximumPages },
});
