/**
 * One llama.cpp config in its own process: node-llama-cpp's prebuilt CPU binary (never downloads or
 * builds), flash attention on, KV cache of the requested type. The cache is filled with real prefill
 * (batches of 512) up to each context, then `trials` runs of `decodeSteps` greedy steps are timed
 * (the median reported). Prefill tok/s: the first `prefillTokens` tokens from an empty cache, the
 * median of `trials` runs.
 */
import { getLlama, LlamaLogLevel } from "node-llama-cpp";
import { type ChildRequest, type ContextResult, median, peakResidentBytes, reportResult } from "./child-protocol.js";

/** Bytes per KV element row of 32 values for llama.cpp's cache types (ggml block sizes). */
const blockBytes: Record<string, number> = { F16: 64, Q8_0: 34, Q4_0: 18 };

async function main(): Promise<void> {
  const request = JSON.parse(process.argv[2]) as ChildRequest;
  const kvType = request.kv.toUpperCase();
  if (!(kvType in blockBytes)) throw new Error(`unknown llama.cpp KV type ${request.kv}; expected f16, q8_0 or q4_0`);
  const loadStarted = performance.now();
  const llama = await getLlama({ gpu: false, build: "never", progressLogs: false, logLevel: LlamaLogLevel.error });
  const model = await llama.loadModel({ modelPath: request.modelPath });
  const maxContext = request.contexts[request.contexts.length - 1];
  const context = await model.createContext({
    contextSize: maxContext + request.trials * (request.decodeSteps + 1) + 64,
    batchSize: 512,
    threads: request.threads,
    flashAttention: true,
    experimentalKvCacheKeyType: kvType as "F16",
    experimentalKvCacheValueType: kvType as "F16",
  });
  const sequence = context.getSequence();
  const loadSeconds = (performance.now() - loadStarted) / 1000;
  const tokens = request.tokens as number[];
  // Per token: K and V, every layer, kvHeads·headDim values each.
  const layers = Number(model.fileInfo.metadata.llama?.block_count ?? 0);
  const kvDim = Number(model.fileInfo.metadata.llama?.embedding_length ?? 0) / Number(model.fileInfo.metadata.llama?.attention?.head_count ?? 1) * Number(model.fileInfo.metadata.llama?.attention?.head_count_kv ?? 0);
  const kvBytesPerToken = (2 * layers * kvDim * blockBytes[kvType]) / 32;

  // `trials` timed prefills from an empty cache (the sequence's history cleared before each).
  const prefillTrials: number[] = [];
  for (let trial = 0; trial < request.trials; trial++) {
    await sequence.clearHistory();
    const prefillStarted = performance.now();
    await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(0, request.prefillTokens) as never);
    prefillTrials.push(request.prefillTokens / ((performance.now() - prefillStarted) / 1000));
  }

  const contexts: ContextResult[] = [];
  for (const target of request.contexts) {
    const have = sequence.nextTokenIndex;
    if (target > have) await sequence.evaluateWithoutGeneratingNewTokens(tokens.slice(have, target) as never);
    // `trials` runs of decodeSteps greedy steps, each a new generation continuing the sequence.
    const decodeTrials: number[] = [];
    for (let trial = 0; trial < request.trials; trial++) {
      const started = performance.now();
      let steps = 0;
      const generator = sequence.evaluate([tokens[(target + trial) % tokens.length]] as never, { temperature: 0 });
      for await (const _ of generator) {
        if (++steps >= request.decodeSteps) break;
      }
      decodeTrials.push(steps / ((performance.now() - started) / 1000));
    }
    const decodeTokensPerSecond = median(decodeTrials);
    contexts.push({ context: target, decodeTokensPerSecond, decodeTrials, kvBytesPerToken, peakRssBytes: peakResidentBytes() });
    process.stderr.write(`  ${request.weights} ${request.kv} @${target}: ${decodeTokensPerSecond.toFixed(2)} tok/s median of ${decodeTrials.map((rate) => rate.toFixed(2)).join(", ")}\n`);
  }
  await context.dispose();
  await model.dispose();
  await llama.dispose();
  reportResult({ prefillTokensPerSecond: median(prefillTrials), prefillTrials, contexts, peakRssBytes: 0, loadSeconds });
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
