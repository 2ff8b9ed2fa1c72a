// Node-only helpers (they import node:fs), kept out of the main entry so browser bundles stay free of them.
export { fileByteSource } from "./node/file-byte-source.js";
export type { FileByteSource } from "./node/file-byte-source.js";
