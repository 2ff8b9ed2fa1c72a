/**
 * bench:server at a real model's shape: the random-weight SmolLM2-135M-shape model (30 layers,
 * 3 KV heads of 64, 49,152 tokens; GGUF Q8_0 written by kvpack) served by the real server
 * (KernelLlamaRuntime on WASM, batched prefill), 2,048-token prompts, one KV budget. Per KV cache:
 *   - sessionsHeld: a fresh server with only that budget (no prefix pages, no queue) gets `attempts`
 *     sessions of prompt + sessionMaxTokens tokens at once; admission reserves each one's worst case,
 *     so the admitted ones are what fits;
 *   - aggregateDecodeTokensPerSecond: `decodeStreams` greedy streams at once on the shared prompt
 *     (its pages warm in memory), generated tokens after each stream's first over the span from the
 *     first stream's first token to the last stream's last token;
 *   - timeToFirstTokenMs: the same prompt cold (nothing stored), then with its prefix pages in
 *     memory (same process), on disk (a second process on the first one's disk folder, no Redis),
 *     in Redis (a second process with the first one's Redis, no disk);
 *   - twoProcesses: a conversation started on process A (prompt + A's greedy reply + a new turn)
 *     continued on another process B that shares only Redis with A, while A still runs: B's
 *     prefix_source and reused tokens.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { writeLlamaGguf } from "@kvpack/adapters";
import { machineInfo } from "../bench-output.js";
import { randomLlamaWeights, smolLm2Config, syntheticTokenizer } from "../vs-llama-cpp/random-smollm.js";
import { startRedis } from "./redis-process.js";
import { type RunningServer, startServer, stopServer } from "./server-process.js";
import { type TimedCompletion, timedCompletion } from "./timed-completion.js";

export interface RealShapeSettings {
  readonly quick: boolean;
  readonly promptTokens: number;
  readonly budgetBytes: number;
  /** Generated tokens each capacity session reserves room for. */
  readonly sessionMaxTokens: number;
  readonly attempts: number;
  readonly decodeStreams: number;
  readonly decodeTokens: number;
}

export function realShapeSettings(quick: boolean): RealShapeSettings {
  // Quick: an eighth of the prompt in an eighth of the budget (session counts of the same order), fewer decode steps.
  return quick
    ? { quick, promptTokens: 256, budgetBytes: 64 * 2 ** 20, sessionMaxTokens: 64, attempts: 128, decodeStreams: 2, decodeTokens: 3 }
    : { quick, promptTokens: 2048, budgetBytes: 512 * 2 ** 20, sessionMaxTokens: 64, attempts: 128, decodeStreams: 4, decodeTokens: 8 };
}

/** The three caches the issue compares, by their bench name, as request `kvpack` options. */
const caches: { kv: "fp16" | "turboquant 6/4" | "fibquant 3/3"; kvpack: Record<string, unknown> }[] = [
  { kv: "fp16", kvpack: { codec: "fp16" } },
  { kv: "turboquant 6/4", kvpack: { codec: "turboquant", keyBits: 6, valueBits: 4 } },
  { kv: "fibquant 3/3", kvpack: { codec: "fibquant", keyBits: 3, valueBits: 3 } },
];

export interface RealShapeRow {
  kv: string;
  sessionsHeld: number;
  aggregateDecodeTokensPerSecond: number;
  timeToFirstTokenMs: { cold: number; memory: number; disk: number; redis: number };
}

export interface TwoProcessRow {
  kv: string;
  promptTokens: number;
  reusedTokens: number;
  prefixSource: string | null;
}

export interface RealShapeResult {
  quick: boolean;
  createdAt: string;
  machine: Record<string, unknown>;
  model: Record<string, unknown>;
  budgetBytes: number;
  promptTokens: number;
  rows: RealShapeRow[];
  twoProcesses: TwoProcessRow[];
  /** Where each warm time to first token's prefix came from (the server's prefix_source), to check the tier. */
  prefixSources: { kv: string; memory: string | null; disk: string | null; redis: string | null; reusedTokens: number }[];
  settings: RealShapeSettings;
  method: string;
}

const modelId = "smollm2-135m-shape";

/** Deterministic token ids past the synthetic vocabulary's specials and byte pieces. */
function promptIds(count: number, seed: number): number[] {
  let state = seed;
  return Array.from({ length: count }, () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return 259 + (state % (smolLm2Config.vocabSize - 259));
  });
}

function expectOk(result: TimedCompletion, what: string): TimedCompletion {
  if (result.status !== 200) throw new Error(`${what}: HTTP ${result.status} ${result.error ?? ""}`);
  return result;
}

async function tokenize(server: RunningServer, content: string): Promise<number[]> {
  const response = await fetch(`${server.baseUrl}/tokenize`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ content }) });
  return ((await response.json()) as { tokens: number[] }).tokens;
}

async function activeGenerations(server: RunningServer): Promise<number> {
  const response = await fetch(`${server.baseUrl}/health`);
  return ((await response.json()) as { active_generations: number }).active_generations;
}

/**
 * `attempts` sessions at once against the budget alone (no prefix pages, no queue). Admission
 * reserves each request's worst case, the KV of prompt + max_tokens tokens, before any work; so each
 * attempt is a 1-token prompt with max_tokens = promptTokens + sessionMaxTokens − 1: the same
 * reservation as the long prompt, without 128 prefills competing for the event loop while the count
 * is read. Refused ones get 429 at once, admitted ones show as active generations (or have answered
 * 200); once the two add up to every attempt, the admitted ones are cancelled.
 */
async function sessionsHeld(modelArgs: string[], settings: RealShapeSettings, scratch: string, kvpack: Record<string, unknown>): Promise<number> {
  const configFile = join(scratch, "capacity-config.json");
  const sessionTokens = settings.promptTokens + settings.sessionMaxTokens;
  writeFileSync(configFile, JSON.stringify({ limits: { maxTokens: sessionTokens } }));
  const server = await startServer([...modelArgs, "--config", configFile, "--kv-budget-mb", String(settings.budgetBytes / 2 ** 20), "--no-disk", "--prefix-memory-share", "0", "--queue-size", "0", "--max-concurrent", "1000"]);
  const controllers = Array.from({ length: settings.attempts }, () => new AbortController());
  try {
    const body = JSON.stringify({ model: modelId, prompt: promptIds(1, 3), max_tokens: sessionTokens - 1, stream: true, kvpack });
    const statuses: number[] = [];
    const requests = controllers.map((controller) =>
      fetch(`${server.baseUrl}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body, signal: controller.signal })
        .then(async (response) => {
          statuses.push(response.status);
          if (response.status !== 200) await response.text();
        })
        .catch(() => undefined),
    );
    const deadline = performance.now() + 120_000;
    let admitted = 0;
    for (;;) {
      const refused = statuses.filter((status) => status === 429).length;
      const other = statuses.find((status) => status !== 429 && status !== 200);
      if (other !== undefined) throw new Error(`capacity: unexpected HTTP ${other}`);
      admitted = await activeGenerations(server);
      if (refused + admitted >= settings.attempts) break;
      if (performance.now() > deadline) throw new Error(`capacity: ${refused} refused + ${admitted} running of ${settings.attempts} after 120 s`);
      await new Promise((resolvePromise) => setTimeout(resolvePromise, 200));
    }
    for (const controller of controllers) controller.abort();
    await Promise.all(requests);
    return admitted;
  } finally {
    for (const controller of controllers) controller.abort();
    await stopServer(server);
  }
}

/** Aggregate decode rate of `streams` concurrent greedy streams on `prompt` (its pages already in memory). */
async function aggregateDecode(server: RunningServer, settings: RealShapeSettings, prompt: number[], kvpack: Record<string, unknown>): Promise<number> {
  const results = await Promise.all(Array.from({ length: settings.decodeStreams }, () => timedCompletion(server.baseUrl, { model: modelId, prompt, maxTokens: settings.decodeTokens, kvpack })));
  results.forEach((result) => expectOk(result, "decode"));
  const tokens = results.reduce((sum, result) => sum + result.completionTokens - 1, 0);
  const seconds = (Math.max(...results.map((result) => result.lastTokenAt)) - Math.min(...results.map((result) => result.firstTokenAt))) / 1000;
  return seconds > 0 ? tokens / seconds : 0;
}

export async function runRealShapeBench(settings: RealShapeSettings, log: (line: string) => void): Promise<RealShapeResult> {
  const scratch = mkdtempSync(join(tmpdir(), "kvpack-bench-server-real-"));
  const redis = await startRedis();
  try {
    log(`writing the random SmolLM2-135M-shape model as GGUF Q8_0 …`);
    const modelFile = join(scratch, "smollm2-135m-shape-q8_0.gguf");
    const fileBytes = writeLlamaGguf(randomLlamaWeights(smolLm2Config), syntheticTokenizer(smolLm2Config.vocabSize), { tensorType: "Q8_0", name: "random SmolLM2-135M shape Q8_0" });
    writeFileSync(modelFile, fileBytes);
    const modelArgs = ["--model", modelFile, "--model-id", modelId];
    const prompt = promptIds(settings.promptTokens, 7);
    const warmUp = promptIds(8, 99);
    const newTurn = promptIds(8, 1234);
    const rows: RealShapeRow[] = [];
    const twoProcesses: TwoProcessRow[] = [];
    const prefixSources: RealShapeResult["prefixSources"] = [];
    // KVPACK_BENCH_REAL_SHAPE_KV="fp16,fibquant 3/3" runs only those caches (checks; the results need all three).
    const only = process.env.KVPACK_BENCH_REAL_SHAPE_KV?.split(",").map((name) => name.trim());
    const chosen = caches.filter((cache) => !only || only.includes(cache.kv));
    if (chosen.length === 0) throw new Error(`KVPACK_BENCH_REAL_SHAPE_KV names none of ${caches.map((cache) => cache.kv).join(", ")}`);
    for (const [index, cache] of chosen.entries()) {
      const run = (server: RunningServer, tokens: number[], maxTokens = 1) => timedCompletion(server.baseUrl, { model: modelId, prompt: tokens, maxTokens, kvpack: cache.kvpack });
      const diskDirectory = join(scratch, `disk-${index}`);
      // Each cache's pages go under their own Redis keys (the codec is part of the page key) and disk folder.
      const first = await startServer([...modelArgs, "--kv-budget-mb", String(settings.budgetBytes / 2 ** 20), "--disk-dir", diskDirectory, "--redis-url", redis.url]);
      let cold: TimedCompletion;
      let memory: TimedCompletion;
      let decodeRate: number;
      let redisHit: TimedCompletion;
      try {
        expectOk(await run(first, warmUp), "warm-up"); // codec tables, JIT
        log(`${cache.kv}: cold prefill of ${settings.promptTokens} tokens …`);
        cold = expectOk(await run(first, prompt, settings.decodeTokens), "cold");
        memory = expectOk(await run(first, prompt), "memory");
        log(`${cache.kv}: cold ${cold.timeToFirstTokenMs.toFixed(0)} ms, memory ${memory.timeToFirstTokenMs.toFixed(0)} ms (${memory.prefixSource}, ${memory.reusedTokens} reused); decoding ${settings.decodeStreams} streams …`);
        decodeRate = await aggregateDecode(first, settings, prompt, cache.kvpack);
        // A second process on the same Redis, no disk, while the first still runs.
        const second = await startServer([...modelArgs, "--kv-budget-mb", String(settings.budgetBytes / 2 ** 20), "--no-disk", "--redis-url", redis.url]);
        try {
          redisHit = expectOk(await run(second, prompt), "redis");
        } finally {
          await stopServer(second);
        }
        // The conversation: its first turn ran on `first` (the cold request); its next turn goes to a third process.
        const continued = [...prompt, ...(await tokenize(first, cold.text)), ...newTurn];
        const third = await startServer([...modelArgs, "--kv-budget-mb", String(settings.budgetBytes / 2 ** 20), "--no-disk", "--redis-url", redis.url]);
        try {
          const next = expectOk(await run(third, continued), "conversation");
          twoProcesses.push({ kv: cache.kv, promptTokens: next.promptTokens, reusedTokens: next.reusedTokens, prefixSource: next.prefixSource });
        } finally {
          await stopServer(third);
        }
      } finally {
        await stopServer(first); // flushes its disk writes
      }
      const fromDisk = await startServer([...modelArgs, "--kv-budget-mb", String(settings.budgetBytes / 2 ** 20), "--disk-dir", diskDirectory]);
      let disk: TimedCompletion;
      try {
        disk = expectOk(await run(fromDisk, prompt), "disk");
      } finally {
        await stopServer(fromDisk);
      }
      log(`${cache.kv}: disk ${disk.timeToFirstTokenMs.toFixed(0)} ms (${disk.prefixSource}), redis ${redisHit.timeToFirstTokenMs.toFixed(0)} ms (${redisHit.prefixSource}); ${decodeRate.toFixed(2)} tok/s aggregate; counting sessions …`);
      const held = await sessionsHeld(modelArgs, settings, scratch, cache.kvpack);
      log(`${cache.kv}: ${held} sessions held in ${(settings.budgetBytes / 2 ** 20).toFixed(0)} MiB`);
      rows.push({
        kv: cache.kv,
        sessionsHeld: held,
        aggregateDecodeTokensPerSecond: decodeRate,
        timeToFirstTokenMs: { cold: cold.timeToFirstTokenMs, memory: memory.timeToFirstTokenMs, disk: disk.timeToFirstTokenMs, redis: redisHit.timeToFirstTokenMs },
      });
      prefixSources.push({ kv: cache.kv, memory: memory.prefixSource, disk: disk.prefixSource, redis: redisHit.prefixSource, reusedTokens: memory.reusedTokens });
    }
    const { dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize } = smolLm2Config;
    return {
      quick: settings.quick,
      createdAt: new Date().toISOString(),
      machine: { ...machineInfo() },
      model: { shape: "SmolLM2-135M", random: true, weights: "Q8_0", fileBytes: fileBytes.length, dim, hiddenDim, layers, heads, kvHeads, headDim, vocabSize, denseFp16KvBytesPerToken: 2 * layers * kvHeads * headDim * 2 },
      budgetBytes: settings.budgetBytes,
      promptTokens: settings.promptTokens,
      rows,
      twoProcesses,
      prefixSources,
      settings,
      method:
        "the real server (apps/server/dist/main.js, KernelLlamaRuntime on WASM, batched prefill) on 127.0.0.1; times are the client's, request sent to first streamed token. " +
        "sessionsHeld: a fresh server with only the KV budget (no prefix pages, no queue) gets `attempts` requests at once, each reserving promptTokens + sessionMaxTokens tokens of KV (a 1-token prompt with max_tokens promptTokens + sessionMaxTokens − 1: admission reserves prompt + max_tokens, so the count is that of the long prompt without its prefill); the admitted ones (active generations) are counted, then cancelled. " +
        "aggregateDecodeTokensPerSecond: decodeStreams greedy streams of decodeTokens at once on the prompt (prefix pages in memory), generated tokens after each stream's first / (last stream's last token − first stream's first token). " +
        "cold: nothing stored; memory: the same process again; disk: a new process on the first one's disk folder; redis: a new process sharing only Redis (the first still running). twoProcesses: prompt + the first process's greedy reply + 8 new tokens, sent to a third process sharing only Redis.",
    };
  } finally {
    await redis.stop();
    rmSync(scratch, { recursive: true, force: true });
  }
}
