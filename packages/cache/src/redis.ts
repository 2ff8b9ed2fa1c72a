/** Node-only entry: the Redis tier (ioredis). */
export { RedisPageStore } from "./redis-page-store.js";
export type { RedisOpenOptions, RedisPageClient, RedisPageStoreOptions } from "./redis-page-store.js";
