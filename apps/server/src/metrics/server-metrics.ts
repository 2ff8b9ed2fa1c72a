import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Prometheus metrics of one server instance (its own registry, so tests can run several). */
export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"route" | "status">;
  readonly generatedTokens: Counter;
  readonly promptTokens: Counter;
  readonly prefixLookups: Counter<"result">;
  readonly prefixHitRate: Gauge;
  readonly residentKvBytes: Gauge;
  readonly offloadedKvBytes: Gauge<"tier">;
  readonly compressionRatio: Gauge;
  readonly tokensPerSecond: Gauge;
  readonly queueDepth: Gauge;
  readonly activeGenerations: Gauge;
  readonly sessions: Gauge;
  readonly residentSessions: Gauge;
  readonly rejected: Counter<"reason">;
  readonly timeToFirstToken: Histogram;
  readonly requestDuration: Histogram<"route">;
  private hits = 0;
  private lookups = 0;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "kvpack_process_" });
    this.requests = new Counter({ name: "kvpack_http_requests_total", help: "HTTP requests by route and status", labelNames: ["route", "status"], registers });
    this.generatedTokens = new Counter({ name: "kvpack_generated_tokens_total", help: "Tokens generated", registers });
    this.promptTokens = new Counter({ name: "kvpack_prompt_tokens_total", help: "Prompt tokens processed (including reused ones)", registers });
    this.prefixLookups = new Counter({ name: "kvpack_prefix_lookups_total", help: "Prefix-cache lookups by result (hit: at least one page reused)", labelNames: ["result"], registers });
    this.prefixHitRate = new Gauge({ name: "kvpack_prefix_hit_rate", help: "Share of prefix-cache lookups that reused at least one page", registers });
    this.residentKvBytes = new Gauge({ name: "kvpack_kv_resident_bytes", help: "KV bytes held in memory: live requests, idle sessions, prefix pages", registers });
    this.offloadedKvBytes = new Gauge({ name: "kvpack_kv_offloaded_bytes", help: "KV bytes written to the disk and Redis tiers by this process", labelNames: ["tier"], registers });
    this.compressionRatio = new Gauge({ name: "kvpack_kv_compression_ratio", help: "fp32 bytes of the resident KV over its actual bytes", registers });
    this.tokensPerSecond = new Gauge({ name: "kvpack_tokens_per_second", help: "Decode throughput of the last finished generation", registers });
    this.queueDepth = new Gauge({ name: "kvpack_queue_depth", help: "Requests waiting for a generation slot or KV memory", registers });
    this.activeGenerations = new Gauge({ name: "kvpack_active_generations", help: "Generations being decoded", registers });
    this.sessions = new Gauge({ name: "kvpack_sessions", help: "Sessions held in memory", registers });
    this.residentSessions = new Gauge({ name: "kvpack_sessions_resident", help: "Sessions whose KV is in memory (the rest are offloaded)", registers });
    this.rejected = new Counter({ name: "kvpack_rejected_requests_total", help: "Requests refused with 429 by reason", labelNames: ["reason"], registers });
    this.timeToFirstToken = new Histogram({
      name: "kvpack_time_to_first_token_seconds",
      help: "Time from request arrival to the first generated token",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.requestDuration = new Histogram({
      name: "kvpack_request_duration_seconds",
      help: "Generation request duration",
      labelNames: ["route"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers,
    });
  }

  recordPrefixLookup(hit: boolean): void {
    this.lookups++;
    if (hit) this.hits++;
    this.prefixLookups.inc({ result: hit ? "hit" : "miss" });
    this.prefixHitRate.set(this.hits / this.lookups);
  }
}
