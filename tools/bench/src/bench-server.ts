/**
 * Server benchmark: starts the real kvpack server (apps/server/dist/main.js) on 127.0.0.1 and, for
 * the dense fp32 KV cache (the baseline) and compressed caches in the same run, measures
 *   1. load: N concurrent streaming clients, a bounded number of requests → aggregate tokens/s,
 *      p50/p99 request latency, p50/p99 time to first token, KV bytes per session, and how far
 *      a greedy 200-token text stays equal to the dense cache's (a quality check);
 *   2. capacity: one fixed KV memory budget, no queue, M simultaneous long sessions → how many
 *      are admitted (the rest get 429), i.e. how many concurrent sessions fit.
 * Prints tables and writes bench-results/server.json.
 *
 * Then the same server at a real shape (server/real-shape-bench.ts: the random SmolLM2-135M-shape
 * GGUF, 2,048-token prompts, one 512 MiB budget): sessions held, aggregate decode tok/s and time to
 * first token cold vs warm prefix pages in memory, on disk and in Redis, for fp16, TurboQuant 6/4 and
 * FibQuant 3/3, and a conversation continued on a second process sharing only Redis (`realShape`).
 *
 *   pnpm bench:server                      (builds the server first when dist/ is missing)
 *   KVPACK_BENCH_QUICK=1 pnpm bench:server fewer requests; real shape: 256-token prompts in 64 MiB (smoke run)
 *   KVPACK_BENCH_SERVER=real-shape|stories260K pnpm bench:server   one part; the other part's results in server.json are kept
 */
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { benchResultsDirectory, writeBenchJson } from "./bench-output.js";
import { BenchProgress } from "./bench-progress.js";
import { printTable } from "./bench-table.js";
import { type RealShapeResult, realShapeSettings, runRealShapeBench } from "./server/real-shape-bench.js";
import { repositoryRoot, serverMain, startServer, stopServer } from "./server/server-process.js";

const quick = process.env.KVPACK_BENCH_QUICK === "1";
/** Which parts run: "stories260K" (load + capacity on the default model), "real-shape", or both (default). */
const part = process.env.KVPACK_BENCH_SERVER ?? "all";

/** Load phase: concurrent streams, requests in all, tokens per request, and a wall-clock cap per configuration. */
const concurrency = quick ? 4 : 8;
const loadRequests = quick ? 12 : 48;
const loadMaxTokens = 128;
const loadTimeLimitMs = 60_000;
/** Capacity phase: one budget for every configuration, long sessions filling stories260K's 512-token context. */
const capacityBudgetMiB = 4;
const capacitySessionTokens = 448;
const capacityAttempts = quick ? 40 : 64;

interface KvConfiguration {
  name: string;
  kvpack: Record<string, unknown>;
}

const configurations: KvConfiguration[] = [
  { name: "dense fp32 (baseline)", kvpack: { codec: "fp32" } },
  { name: "turboquant k6/v4 (default)", kvpack: { codec: "turboquant", keyBits: 6, valueBits: 4 } },
  { name: "turboquant k2/v2", kvpack: { codec: "turboquant", keyBits: 2, valueBits: 2 } },
  { name: "kivi 2-bit", kvpack: { codec: "kivi", keyBits: 2, valueBits: 2 } },
];

const prompts = [
  "Once upon a time",
  "Tom had a red kite.",
  "Lily went to the park with her mom.",
  "The cat saw a big dog.",
  "One day, a little bird",
  "Sam and Mia wanted to build a tower.",
];

interface StreamResult {
  status: number;
  latencyMs: number;
  timeToFirstTokenMs: number;
  completionTokens: number;
  kvBytes: number;
  denseKvBytes: number;
}

/** One streaming completion; parses the SSE stream, reads usage and the kvpack report from the last chunks. */
async function streamCompletion(baseUrl: string, prompt: string, maxTokens: number, kvpack: Record<string, unknown>, signal?: AbortSignal): Promise<StreamResult> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ model: "stories260K", prompt, max_tokens: maxTokens, temperature: 0.8, seed: 7, stream: true, stream_options: { include_usage: true }, kvpack }),
    signal,
  });
  const result: StreamResult = { status: response.status, latencyMs: 0, timeToFirstTokenMs: 0, completionTokens: 0, kvBytes: 0, denseKvBytes: 0 };
  if (response.status !== 200 || !response.body) {
    await response.text();
    result.latencyMs = performance.now() - started;
    return result;
  }
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let boundary = buffer.indexOf("\n\n");
    while (boundary >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary + 2);
      boundary = buffer.indexOf("\n\n");
      if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
      const chunk = JSON.parse(event.slice(6)) as {
        choices: { text: string }[];
        usage?: { completion_tokens: number };
        kvpack?: { kv_bytes: number; dense_kv_bytes: number };
      };
      if (result.timeToFirstTokenMs === 0 && chunk.choices[0]?.text) result.timeToFirstTokenMs = performance.now() - started;
      if (chunk.usage) result.completionTokens = chunk.usage.completion_tokens;
      if (chunk.kvpack) {
        result.kvBytes = chunk.kvpack.kv_bytes;
        result.denseKvBytes = chunk.kvpack.dense_kv_bytes;
      }
    }
  }
  result.latencyMs = performance.now() - started;
  return result;
}

function percentile(values: number[], fraction: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

const mean = (values: number[]): number => (values.length === 0 ? 0 : values.reduce((sum, value) => sum + value, 0) / values.length);

interface LoadRow {
  configuration: string;
  requests: number;
  failed: number;
  tokensPerSecond: number;
  latencyP50Ms: number;
  latencyP99Ms: number;
  timeToFirstTokenP50Ms: number;
  timeToFirstTokenP99Ms: number;
  kvBytesPerSession: number;
  denseKvBytesPerSession: number;
  compressionVsDense: number;
  wallSeconds: number;
  /** Greedy text of a fixed prompt (quality check against the dense baseline's text). */
  greedyText: string;
}

async function loadPhase(configuration: KvConfiguration): Promise<LoadRow> {
  const server = await startServer([]);
  try {
    await streamCompletion(server.baseUrl, "Warm up", 8, configuration.kvpack); // builds codec tables, JIT
    const greedy = await fetch(`${server.baseUrl}/v1/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model: "stories260K", prompt: "Once upon a time", max_tokens: 200, temperature: 0, kvpack: configuration.kvpack }),
    });
    const greedyText = ((await greedy.json()) as { choices: { text: string }[] }).choices[0].text;
    const results: StreamResult[] = [];
    let next = 0;
    const started = performance.now();
    const worker = async (): Promise<void> => {
      while (next < loadRequests && performance.now() - started < loadTimeLimitMs) {
        const index = next++;
        results.push(await streamCompletion(server.baseUrl, prompts[index % prompts.length], loadMaxTokens, configuration.kvpack));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const wallSeconds = (performance.now() - started) / 1000;
    const ok = results.filter((result) => result.status === 200);
    const kvBytes = mean(ok.map((result) => result.kvBytes));
    const denseBytes = mean(ok.map((result) => result.denseKvBytes));
    return {
      configuration: configuration.name,
      requests: results.length,
      failed: results.length - ok.length,
      tokensPerSecond: ok.reduce((sum, result) => sum + result.completionTokens, 0) / wallSeconds,
      latencyP50Ms: percentile(ok.map((result) => result.latencyMs), 0.5),
      latencyP99Ms: percentile(ok.map((result) => result.latencyMs), 0.99),
      timeToFirstTokenP50Ms: percentile(ok.map((result) => result.timeToFirstTokenMs), 0.5),
      timeToFirstTokenP99Ms: percentile(ok.map((result) => result.timeToFirstTokenMs), 0.99),
      kvBytesPerSession: kvBytes,
      denseKvBytesPerSession: denseBytes,
      compressionVsDense: kvBytes > 0 ? denseBytes / kvBytes : 0,
      wallSeconds,
      greedyText,
    };
  } finally {
    await stopServer(server);
  }
}

interface CapacityRow {
  configuration: string;
  budgetBytes: number;
  sessionTokens: number;
  attempted: number;
  admitted: number;
  refused: number;
  /** Measured all-in KV bytes of one full session (a separate, sequential run). */
  kvBytesPerFullSession: number;
  idleSessionsThatFit: number;
}

/**
 * M simultaneous long sessions against a fixed budget with no queue: admission reserves each
 * session's worst-case KV bytes, so the admitted count is how many fit at once. Admitted streams
 * are cancelled after their first chunk (the count is decided at admission), keeping the run short.
 */
async function capacityPhase(configuration: KvConfiguration): Promise<CapacityRow> {
  const budgetBytes = capacityBudgetMiB * 1024 * 1024;
  // No prefix pages in memory: they would take budget asynchronously and make the count depend on timing.
  const server = await startServer(["--kv-budget-mb", String(capacityBudgetMiB), "--no-disk", "--prefix-memory-share", "0", "--queue-size", "0", "--max-concurrent", "1000"]);
  try {
    const full = await streamCompletion(server.baseUrl, prompts[0], capacitySessionTokens, { ...configuration.kvpack });
    const controllers = Array.from({ length: capacityAttempts }, () => new AbortController());
    const statuses = await Promise.all(
      controllers.map(async (controller) => {
        const response = await fetch(`${server.baseUrl}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          // One prompt for all: every session reserves the same size, so the count does not depend on arrival order.
          body: JSON.stringify({ model: "stories260K", prompt: prompts[0], max_tokens: capacitySessionTokens, stream: true, kvpack: configuration.kvpack }),
          signal: controller.signal,
        });
        return { status: response.status, response };
      }),
    );
    for (const [index, { response }] of statuses.entries()) {
      if (response.status !== 200) await response.text();
      controllers[index].abort();
    }
    const admitted = statuses.filter(({ status }) => status === 200).length;
    return {
      configuration: configuration.name,
      budgetBytes,
      sessionTokens: capacitySessionTokens,
      attempted: capacityAttempts,
      admitted,
      refused: statuses.filter(({ status }) => status === 429).length,
      kvBytesPerFullSession: full.kvBytes,
      idleSessionsThatFit: full.kvBytes > 0 ? Math.floor(budgetBytes / full.kvBytes) : 0,
    };
  } finally {
    await stopServer(server);
  }
}

async function storiesPart(): Promise<Record<string, unknown>> {
  const progress = new BenchProgress(configurations.length * 2);
  const loadRows: LoadRow[] = [];
  const capacityRows: CapacityRow[] = [];
  for (const configuration of configurations) {
    loadRows.push(await loadPhase(configuration));
    progress.step(`load ${configuration.name}`);
    capacityRows.push(await capacityPhase(configuration));
    progress.step(`capacity ${configuration.name}`);
  }
  printTable(`Load: ${concurrency} concurrent streams, ${loadRequests} requests × ${loadMaxTokens} tokens, stories260K, 127.0.0.1`, loadRows, [
    { header: "KV cache", value: (row) => row.configuration },
    { header: "ok/failed", value: (row) => `${row.requests - row.failed}/${row.failed}` },
    { header: "tokens/s", value: (row) => row.tokensPerSecond, digits: 0 },
    { header: "p50 ms", value: (row) => row.latencyP50Ms, digits: 0 },
    { header: "p99 ms", value: (row) => row.latencyP99Ms, digits: 0 },
    { header: "TTFT p50 ms", value: (row) => row.timeToFirstTokenP50Ms, digits: 1 },
    { header: "TTFT p99 ms", value: (row) => row.timeToFirstTokenP99Ms, digits: 1 },
    { header: "KV B/session", value: (row) => row.kvBytesPerSession, digits: 0 },
    { header: "× vs fp32", value: (row) => row.compressionVsDense, digits: 2 },
  ]);
  const denseText = loadRows[0].greedyText;
  const sameCharacters = (text: string): number => {
    let index = 0;
    while (index < text.length && index < denseText.length && text[index] === denseText[index]) index++;
    return index;
  };
  printTable(`Quality: greedy 200 tokens of "Once upon a time", characters equal to the fp32 text before the first difference`, loadRows, [
    { header: "KV cache", value: (row) => row.configuration },
    { header: "same chars", value: (row) => `${sameCharacters(row.greedyText)}/${denseText.length}` },
    { header: "text starts", value: (row) => JSON.stringify(row.greedyText.slice(0, 60)) },
  ]);
  const dense = capacityRows[0];
  printTable(`Capacity: ${capacityBudgetMiB} MiB KV budget, sessions of ${capacitySessionTokens} generated tokens, ${capacityAttempts} at once, no queue`, capacityRows, [
    { header: "KV cache", value: (row) => row.configuration },
    { header: "admitted", value: (row) => row.admitted, digits: 0 },
    { header: "429", value: (row) => row.refused, digits: 0 },
    { header: "× dense", value: (row) => (dense.admitted > 0 ? row.admitted / dense.admitted : 0), digits: 2 },
    { header: "KV B/full session", value: (row) => row.kvBytesPerFullSession, digits: 0 },
    { header: "idle sessions fit", value: (row) => row.idleSessionsThatFit, digits: 0 },
    { header: "× dense (idle)", value: (row) => (dense.idleSessionsThatFit > 0 ? row.idleSessionsThatFit / dense.idleSessionsThatFit : 0), digits: 2 },
  ]);
  const best = capacityRows.slice(1).reduce((top, row) => (row.admitted > top.admitted ? row : top), capacityRows[1]);
  const ratio = dense.admitted > 0 ? best.admitted / dense.admitted : 0;
  process.stdout.write(`\nBest compressed (${best.configuration}): ${best.admitted} concurrent sessions vs ${dense.admitted} dense = ${ratio.toFixed(2)}× (goal ≥ 4×: ${ratio >= 4 ? "met" : "not met"})\n`);
  return {
    quick,
    model: "stories260K",
    load: { concurrency, requests: loadRequests, maxTokens: loadMaxTokens, rows: loadRows.map((row) => ({ ...row, greedyCharactersEqualToDense: sameCharacters(row.greedyText) })) },
    capacity: { budgetBytes: capacityBudgetMiB * 1024 * 1024, sessionTokens: capacitySessionTokens, attempts: capacityAttempts, rows: capacityRows },
    summary: { bestCompressed: best.configuration, concurrentSessionsRatio: ratio, goalMet: ratio >= 4 },
  };
}

function printRealShape(result: RealShapeResult): void {
  const dense = result.rows.find((row) => row.kv === "fp16");
  printTable(`Real shape: random SmolLM2-135M-shape GGUF Q8_0, ${result.promptTokens}-token prompts, ${(result.budgetBytes / 2 ** 20).toFixed(0)} MiB KV budget${result.quick ? " (quick)" : ""}`, result.rows, [
    { header: "KV cache", value: (row) => row.kv },
    { header: "sessions held", value: (row) => row.sessionsHeld, digits: 0 },
    { header: "× fp16", value: (row) => (dense && dense.sessionsHeld > 0 ? row.sessionsHeld / dense.sessionsHeld : 0), digits: 2 },
    { header: "decode tok/s (all streams)", value: (row) => row.aggregateDecodeTokensPerSecond, digits: 2 },
    { header: "TTFT cold ms", value: (row) => row.timeToFirstTokenMs.cold, digits: 0 },
    { header: "memory ms", value: (row) => row.timeToFirstTokenMs.memory, digits: 0 },
    { header: "disk ms", value: (row) => row.timeToFirstTokenMs.disk, digits: 0 },
    { header: "redis ms", value: (row) => row.timeToFirstTokenMs.redis, digits: 0 },
  ]);
  printTable("Two processes on one Redis: the conversation's next turn on a process that shares only Redis", result.twoProcesses, [
    { header: "KV cache", value: (row) => row.kv },
    { header: "prompt tokens", value: (row) => row.promptTokens, digits: 0 },
    { header: "reused", value: (row) => row.reusedTokens, digits: 0 },
    { header: "prefix_source", value: (row) => String(row.prefixSource) },
  ]);
}

/**
 * The server.json already there: another part's results are kept when only one part runs. When the
 * stories260K part is kept, so are its date, machine and ceilings (the file's top level describes
 * that part; realShape carries its own date and machine).
 */
function previousResults(keepStories: boolean): Record<string, unknown> {
  const file = resolve(benchResultsDirectory(), "server.json");
  if (!existsSync(file)) return {};
  const { benchmark: _benchmark, createdAt, machine, ceilings, ...rest } = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  return keepStories ? { ...rest, createdAt, machine, ceilings } : rest;
}

async function main(): Promise<void> {
  if (!["all", "stories260K", "real-shape"].includes(part)) throw new Error(`KVPACK_BENCH_SERVER must be all, stories260K or real-shape, got ${JSON.stringify(part)}`);
  if (!existsSync(serverMain)) {
    process.stderr.write("apps/server/dist/main.js is missing: building @kvpack/server…\n");
    execFileSync("pnpm", ["--filter", "@kvpack/server", "build"], { cwd: repositoryRoot, stdio: "inherit" });
  }
  const previous = previousResults(part === "real-shape");
  const stories = part === "real-shape" ? undefined : await storiesPart();
  let realShape: RealShapeResult | undefined;
  if (part !== "stories260K") {
    realShape = await runRealShapeBench(realShapeSettings(quick), (line) => process.stderr.write(`  ${line}\n`));
    printRealShape(realShape);
  }
  const path = writeBenchJson("server", { ...previous, ...stories, ...(realShape ? { realShape } : {}) });
  process.stdout.write(`wrote ${path}\n`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
