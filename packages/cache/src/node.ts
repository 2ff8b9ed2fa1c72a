/** Node-only entry: the disk tier (uses node:fs). */
export { DiskPageStore } from "./disk-page-store.js";
export type { DiskPageStoreOptions } from "./disk-page-store.js";
