// The runs: dense fp32 reference, and one codec × policy teacher-forced over the windows.
import { CompressedKVCache, DenseKVCache, type KeyDigestFormat, MemoryPageStore, type Policy } from "@kvpack/cache";
import { isPolicyName, policyRequirements } from "@kvpack/policies";
import { argmax, klDivergenceFromLogProbabilities, logSoftmax } from "../eval/attention-fidelity.js";
import type { EvaluationModel } from "../eval/models-data.js";
import { pageSize, residualWindow, arkvaleChosen } from "./settings.js";
import type { CodecCase } from "./cases.js";
import { ComparingCache } from "./comparing-cache.js";
import { type DenseReference, type RunTotals, emptyTotals, closeWindow } from "./run-totals.js";

/** Bytes a policy holds outside the cache (low-rank keys, merged directions …), when it says so. */
function policyBytes(policy: Policy | undefined): number {
  const withMemory = policy as { policyBytes?: () => number } | undefined;
  return typeof withMemory?.policyBytes === "function" ? withMemory.policyBytes() : 0;
}

function pagingCounters(policy: Policy | undefined): { recalls: number; offloads: number } {
  const counters = (policy as { counters?: { recalls: number; offloads: number } } | undefined)?.counters;
  return counters ?? { recalls: 0, offloads: 0 };
}

export function denseNll(model: EvaluationModel, sequences: number[][], references: DenseReference[]): RunTotals {
  const totals = emptyTotals();
  const started = performance.now();
  const vocab = model.runtime.vocabSize;
  const row = new Float64Array(vocab);
  for (const tokens of sequences) {
    const cache = new DenseKVCache({ ...model.runtime.cacheShape, capacity: tokens.length });
    const reference = new Float32Array((tokens.length - 1) * vocab);
    references.push(reference);
    for (let i = 0; i < tokens.length - 1; i++) {
      logSoftmax(model.runtime.forward(tokens[i], i, cache), vocab, row);
      for (let j = 0; j < vocab; j++) reference[i * vocab + j] = row[j];
      totals.nll -= row[tokens[i + 1]];
      totals.top1Agreements += 1;
      totals.predicted += 1;
      // Dense fp32 bytes of the tokens held, all layers and KV heads (keys and values).
      totals.residentBytesSum += (i + 1) * model.runtime.cacheShape.layers * model.runtime.cacheShape.kvHeads * model.runtime.cacheShape.headDim * 8;
      totals.steps += 1;
    }
    totals.peakBytesSum += (tokens.length - 1) * model.runtime.cacheShape.layers * model.runtime.cacheShape.kvHeads * model.runtime.cacheShape.headDim * 8;
    closeWindow(totals);
  }
  totals.cosineSum = 1;
  totals.cosineCount = 1;
  totals.seconds = (performance.now() - started) / 1000;
  return totals;
}

export async function policyRun(
  model: EvaluationModel,
  sequences: number[][],
  references: DenseReference[],
  codec: CodecCase,
  createPolicy: (() => Policy) | undefined,
  keyDigestFormat: KeyDigestFormat = arkvaleChosen.keyDigestFormat,
): Promise<RunTotals> {
  const totals = emptyTotals();
  const { runtime } = model;
  const vocab = runtime.vocabSize;
  const row = new Float64Array(vocab);
  const { layers, kvHeads, headDim } = runtime.cacheShape;
  const started = performance.now();
  for (const [sequenceIndex, tokens] of sequences.entries()) {
    const reference = references[sequenceIndex];
    const store = new MemoryPageStore();
    const policy = createPolicy?.();
    const cache = new CompressedKVCache({
      layers,
      kvHeads,
      headDim,
      keys: codec.spec(headDim),
      values: codec.spec(headDim),
      pageSize,
      residualWindow,
      keyDigests: policy !== undefined && isPolicyName(policy.name) && policyRequirements(policy.name).keyDigests,
      keyDigestFormat,
      tiers: [{ name: "memory", store }],
      policy,
    });
    const comparing = new ComparingCache(cache, new DenseKVCache({ ...runtime.cacheShape, capacity: tokens.length }), runtime.heads);
    let peak = 0;
    for (let i = 0; i < tokens.length - 1; i++) {
      logSoftmax(runtime.forward(tokens[i], i, comparing), vocab, row);
      totals.nll -= row[tokens[i + 1]];
      const denseRow = reference.subarray(i * vocab, (i + 1) * vocab);
      totals.kl += klDivergenceFromLogProbabilities(denseRow, row, vocab);
      if (argmax(row) === argmax(denseRow)) totals.top1Agreements += 1;
      totals.predicted += 1;
      // Offloads and recalls run asynchronously; let them land before the next token.
      await cache.settled();
      const resident = cache.byteLength() + policyBytes(policy);
      totals.residentBytesSum += resident;
      if (resident > peak) peak = resident;
      totals.offloadedBytesSum += store.byteLength();
      totals.fp16BytesSum += (i + 1) * layers * kvHeads * headDim * 4;
      totals.steps += 1;
    }
    closeWindow(totals);
    totals.peakBytesSum += peak;
    totals.cosineSum += comparing.cosineSum;
    totals.cosineCount += comparing.cosineCount;
    const counters = pagingCounters(policy);
    totals.recalls += counters.recalls;
    totals.offloads += counters.offloads;
  }
  totals.seconds = (performance.now() - started) / 1000;
  return totals;
}
