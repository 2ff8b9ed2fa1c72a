import type { FastifyInstance } from "fastify";
import { ApiKeyAuthenticator } from "../auth/api-key-authenticator.js";
import { describeRates } from "../kv/kv-config.js";
import type { ServerContext } from "../server-context.js";

/** GET /v1/models, GET /health, GET /metrics (behind `metricsKey` when one is configured). */
export function registerInfoRoutes(app: FastifyInstance, context: ServerContext): void {
  app.get("/v1/models", async (request) => {
    context.authenticator.authenticate(request.headers.authorization);
    const { model } = context;
    return {
      object: "list",
      data: [
        {
          id: model.id,
          object: "model",
          created: model.createdSeconds,
          owned_by: "kvpack",
          context_length: model.contextLength,
          kvpack: {
            format: model.format,
            codecs: describeRates(),
            policies: ["none", ...context.policyNames],
            default_codec: context.config.kv.defaults.codec,
            page_tokens: context.config.kv.pageTokens,
            tiers: context.store?.tierNames ?? ["memory"],
          },
        },
      ],
    };
  });

  app.get("/health", async () => {
    const memory = context.memorySnapshot();
    return {
      status: context.shuttingDown ? "shutting_down" : "ok",
      model: context.model.id,
      uptime_seconds: Math.round(process.uptime()),
      active_generations: context.generation.runningCount,
      queue_depth: context.queue.depth,
      sessions: context.sessions.size,
      sessions_resident: context.sessions.residentCount,
      kv: { budget_bytes: context.budget.limitBytes, used_bytes: context.budget.used, resident_bytes: memory.residentBytes, compression_ratio: memory.compressionRatio },
    };
  });

  // Optional: scrapers present their own key, compared in constant time like the API keys.
  const metricsGuard = context.config.metricsKey === undefined ? undefined : new ApiKeyAuthenticator([{ id: "metrics", key: context.config.metricsKey }]);
  app.get("/metrics", async (request, reply) => {
    metricsGuard?.authenticate(request.headers.authorization);
    context.memorySnapshot();
    reply.header("content-type", context.metrics.registry.contentType);
    return context.metrics.registry.metrics();
  });
}
