import type { ApiKeyAuthenticator } from "./auth/api-key-authenticator.js";
import type { ServerConfig } from "./config/server-config.js";
import type { GenerationService } from "./generation/generation-service.js";
import type { KvCacheFactory } from "./kv/kv-cache-factory.js";
import type { PrefixCache } from "./kv/prefix-cache.js";
import type { SessionStore } from "./kv/session-store.js";
import type { TieredPageStore } from "./kv/tiered-page-store.js";
import type { ServerMetrics } from "./metrics/server-metrics.js";
import type { ServedModel } from "./model/load-served-model.js";
import type { AdmissionQueue } from "./scheduling/admission-queue.js";
import type { KvMemoryBudget } from "./scheduling/kv-memory-budget.js";

export interface MemorySnapshot {
  /** KV bytes in memory: running requests, idle sessions, prefix pages. */
  readonly residentBytes: number;
  /** fp32 bytes of the same tokens over residentBytes. */
  readonly compressionRatio: number;
}

/** Everything a route needs, built once per server instance. */
export interface ServerContext {
  readonly config: ServerConfig;
  readonly model: ServedModel;
  readonly metrics: ServerMetrics;
  readonly authenticator: ApiKeyAuthenticator;
  readonly budget: KvMemoryBudget;
  readonly queue: AdmissionQueue;
  readonly store: TieredPageStore | undefined;
  readonly sessions: SessionStore;
  readonly prefix: PrefixCache | undefined;
  readonly generation: GenerationService;
  readonly kvCaches: KvCacheFactory;
  readonly policyNames: readonly string[];
  readonly systemFingerprint: string;
  shuttingDown: boolean;
  /** Recomputes the memory gauges and returns them. */
  memorySnapshot(): MemorySnapshot;
}
