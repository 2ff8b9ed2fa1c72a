import { performance } from "node:perf_hooks";
import os from "node:os";
import path from "node:path";
import cors from "@fastify/cors";
import Fastify, { type FastifyInstance, type FastifyRequest } from "fastify";
import { ApiKeyAuthenticator } from "./auth/api-key-authenticator.js";
import type { ServerConfig } from "./config/server-config.js";
import { GenerationService } from "./generation/generation-service.js";
import { installErrorHandlers, sendApiError, toApiError } from "./http/error-handler.js";
import { KvSessionSerializer } from "./kv/kv-session-serializer.js";
import { denseBytes, KvCacheFactory } from "./kv/kv-cache-factory.js";
import { resolveKvConfig } from "./kv/kv-config.js";
import { CompressedKVCache } from "@kvpack/cache";
import { DiskPageStore } from "@kvpack/cache/node";
import { RedisPageStore } from "@kvpack/cache/redis";
import { PrefixCache } from "./kv/prefix-cache.js";
import { SessionStore } from "./kv/session-store.js";
import { TieredPageStore, type LowerTier } from "./kv/tiered-page-store.js";
import { ServerMetrics } from "./metrics/server-metrics.js";
import { loadServedModel, type ServedModel } from "./model/load-served-model.js";
import { registerChatCompletionsRoute } from "./routes/chat-completions-route.js";
import { registerCompletionsRoute } from "./routes/completions-route.js";
import { registerInfoRoutes } from "./routes/info-routes.js";
import { registerSessionRoutes } from "./routes/session-routes.js";
import { registerTokenizeRoutes } from "./routes/tokenize-routes.js";
import { AdmissionQueue } from "./scheduling/admission-queue.js";
import { KvMemoryBudget } from "./scheduling/kv-memory-budget.js";
import type { MemorySnapshot, ServerContext } from "./server-context.js";
import { availablePolicyNames } from "./kv/policy-names.js";

export interface KvpackServer {
  readonly app: FastifyInstance;
  readonly context: ServerContext;
  /** Starts listening; resolves to the base URL (http://host:port). */
  listen(): Promise<string>;
  /** Graceful stop: refuse new work, let streams finish (up to the grace period), flush disk/Redis. */
  close(): Promise<void>;
}

export interface CreateServerOptions {
  /** A model loaded once and shared (tests start several servers on one model). */
  model?: ServedModel;
}

/** Builds a server from a validated config; nothing listens until `listen()`. */
export async function createServer(config: ServerConfig, options: CreateServerOptions = {}): Promise<KvpackServer> {
  const model = options.model ?? (await loadServedModel(config.model));
  const app = Fastify({
    logger: config.logLevel === "silent" ? false : { level: config.logLevel },
    bodyLimit: config.limits.bodyBytes,
    return503OnClosing: true,
    requestTimeout: 120_000,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    // Errors fastify raises before routing (bad URL encoding, bad content type header).
    frameworkErrors: (error, _request, reply) => {
      void sendApiError(reply, toApiError(error));
    },
  });
  const metrics = new ServerMetrics();
  const diskDirectory = config.kv.diskEnabled ? (config.kv.diskDirectory ?? path.join(os.tmpdir(), "kvpack-server")) : undefined;
  const budget = new KvMemoryBudget(config.kv.memoryBudgetBytes);
  const offloadDirectory = diskDirectory === undefined ? undefined : path.join(diskDirectory, "offloaded-pages", String(process.pid));
  const kvCaches = new KvCacheFactory(
    model.cacheShape,
    model.contextLength,
    config.kv.pageTokens,
    offloadDirectory,
  );
  const lowerTiers: LowerTier[] = [];
  const logStoreError = (tier: string, error: unknown): void => app.log.warn({ tier, err: error }, "KV tier operation failed");
  // The disk tier is a cache (a lost page is recomputed): atomic writes, no fsync per page.
  const diskStore = diskDirectory === undefined ? undefined : new DiskPageStore(diskDirectory, { durable: false });
  if (diskStore) lowerTiers.push({ name: "disk", store: diskStore });
  let redis: RedisPageStore | undefined;
  if (config.kv.redisUrl) {
    let reported = false;
    redis = await RedisPageStore.open(config.kv.redisUrl, {
      keyPrefix: "kvpack:server:",
      ttlSeconds: config.kv.sessionTtlSeconds,
      onError: (error) => {
        if (!reported) app.log.warn({ err: error }, "Redis tier error (prefix sharing through Redis is off until it recovers)");
        reported = true;
      },
    });
    lowerTiers.push({ name: "redis", store: redis });
  }
  const store = new TieredPageStore({
    budget,
    memoryLimitBytes: Math.floor(config.kv.memoryBudgetBytes * config.kv.prefixMemoryShare),
    lowerTiers,
    onOffloadedBytes: (tier, bytes) => metrics.offloadedKvBytes.inc({ tier }, bytes),
    onError: logStoreError,
  });
  const sessions = new SessionStore({
    budget,
    store,
    serializer: new KvSessionSerializer(model.cacheShape, kvCaches),
    modelFingerprint: model.fingerprint,
    maxSessionsPerKey: config.kv.maxSessionsPerKey,
    ttlMs: config.kv.sessionTtlSeconds * 1000,
    onChange: (count) => metrics.sessions.set(count),
    onError: (error) => app.log.warn({ err: error }, "session offload/restore failed"),
  });
  // Under pressure: drop in-memory prefix pages first (they live on in lower tiers), then offload idle sessions.
  budget.setReclaimer((needed) => {
    const freed = store.reclaim(needed);
    return freed >= needed ? freed : freed + sessions.reclaim(needed - freed);
  });
  const queue = new AdmissionQueue({
    maxConcurrent: config.limits.maxConcurrent,
    queueSize: config.limits.queueSize,
    queueTimeoutMs: config.limits.queueTimeoutMs,
    budget,
    onDepthChange: (depth) => metrics.queueDepth.set(depth),
    onReject: (reason) => metrics.rejected.inc({ reason }),
  });
  // Build the default codec's tables now (FibQuant codebooks take a moment) rather than in the first request.
  try {
    kvCaches.checkSupported(resolveKvConfig(undefined, config.kv.defaults, availablePolicyNames()));
  } catch (error) {
    app.log.warn({ err: error }, "the default KV codec is not usable; requests must name one");
  }
  const prefix = new PrefixCache(store);
  const generation = new GenerationService(model, kvCaches, queue, sessions, prefix, metrics);

  const context: ServerContext = {
    config,
    model,
    metrics,
    authenticator: new ApiKeyAuthenticator(config.apiKeys),
    budget,
    queue,
    store,
    sessions,
    prefix,
    generation,
    kvCaches,
    policyNames: availablePolicyNames(),
    systemFingerprint: `kvpack-${model.fingerprint.slice(0, 8)}`,
    shuttingDown: false,
    memorySnapshot(): MemorySnapshot {
      let resident = store.residentBytes;
      let dense = store.residentBytes; // prefix page records: their dense size is not tracked, they count 1:1
      const caches = [...generation.activeCaches(), ...sessions.residentCaches()];
      // Forks share encoded pages: count each block once.
      resident += CompressedKVCache.sharedByteLength(caches);
      for (const cache of caches) dense += denseBytes(cache, cache.length());
      const compressionRatio = resident > 0 ? dense / resident : 0;
      metrics.residentKvBytes.set(resident);
      metrics.compressionRatio.set(compressionRatio);
      metrics.queueDepth.set(queue.depth);
      metrics.sessions.set(sessions.size);
      metrics.residentSessions.set(sessions.residentCount);
      return { residentBytes: resident, compressionRatio };
    },
  };

  if (config.corsOrigins.length > 0) {
    await app.register(cors, {
      origin: config.corsOrigins.includes("*") ? true : config.corsOrigins,
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: ["authorization", "content-type", "x-kvpack-session"],
    });
  }
  // JSON only: a text/plain body is answered with 415, not parsed as a string.
  app.removeContentTypeParser("text/plain");
  installErrorHandlers(app);
  app.addHook("onRequest", async (request: FastifyRequest & { kvpackReceivedAt?: number }) => {
    request.kvpackReceivedAt = performance.now();
  });
  app.addHook("onResponse", async (request, reply) => {
    metrics.requests.inc({ route: request.routeOptions.url ?? "unmatched", status: String(reply.statusCode) });
  });
  registerInfoRoutes(app, context);
  registerCompletionsRoute(app, context);
  registerChatCompletionsRoute(app, context);
  registerSessionRoutes(app, context);
  registerTokenizeRoutes(app, context);

  const sweepDisk = (): void => {
    diskStore?.sweep(config.kv.sessionTtlSeconds * 1000).catch((error: unknown) => app.log.warn({ err: error }, "disk tier sweep failed"));
  };
  sweepDisk();
  const sweep = setInterval(() => {
    sessions.sweep();
    sweepDisk();
  }, 60_000);
  sweep.unref();
  let closing: Promise<void> | undefined;

  return {
    app,
    context,
    async listen(): Promise<string> {
      if (redis) await redis.ready().catch((error: Error) => app.log.warn({ err: error }, "Redis tier not reachable at start-up"));
      const address = await app.listen({ host: config.host, port: config.port });
      const url = new URL(address);
      if (url.hostname === "[::1]" || url.hostname === "[::]" || url.hostname === "0.0.0.0") return address;
      return `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${url.port}`;
    },
    close(): Promise<void> {
      closing ??= (async () => {
        context.shuttingDown = true;
        clearInterval(sweep);
        queue.close();
        const appClosed = app.close();
        const grace = new Promise<void>((resolve) => setTimeout(resolve, config.shutdownGraceSeconds * 1000).unref());
        await Promise.race([generation.whenIdle(), grace]);
        generation.abortAll();
        await generation.whenIdle();
        // Streams that just ended leave keep-alive sockets behind; close them instead of waiting for their timeout.
        const sweeper = setInterval(() => app.server.closeIdleConnections?.(), 50);
        app.server.closeIdleConnections?.();
        await appClosed.finally(() => clearInterval(sweeper));
        await sessions.offloadAll();
        await store.close();
        // Pages ArkVale paged out belong to caches of this process only.
        await kvCaches.removeOffloadedPages().catch(() => undefined);
      })();
      return closing;
    },
  };
}
