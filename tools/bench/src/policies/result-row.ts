// Scoring: one run's totals turned into the reported row (perplexity, KL, bytes …).
import { argmax } from "../eval/attention-fidelity.js";
import type { RunTotals } from "./run-totals.js";

export interface ResultRow {
  model: string;
  dataset: string;
  tokensPerSequence: number;
  sequences: number;
  codec: string;
  policy: string;
  budget: number | null;
  /** Pooled over the windows: exp(Σ NLL / Σ tokens). */
  perplexity: number;
  densePerplexity: number;
  /** Pooled perplexity − pooled dense perplexity. */
  perplexityDelta: number;
  /** Per window: perplexity − the dense perplexity of the same window (signed). */
  windowPerplexityDeltas: number[];
  /** Mean of windowPerplexityDeltas, and mean of their absolute values. */
  perplexityDeltaMean: number;
  absolutePerplexityDeltaMean: number;
  /** Mean KL(dense ‖ run) per predicted token, nats: fidelity to the dense model whatever the text. */
  klDivergence: number;
  /** Per window: mean KL per predicted token. */
  windowKlDivergences: number[];
  /** Share of steps whose argmax token equals the dense run's. */
  top1Agreement: number;
  attentionCosine: number;
  /** Mean over steps of cache bytes (all-in) + bytes the policy holds. */
  residentBytes: number;
  /** residentBytes / (fp16 bytes of every token cached so far), mean over steps. */
  residentFractionOfFp16: number;
  /** Largest resident bytes of a window (at its end for budgeted policies), mean over windows. */
  peakResidentBytes: number;
  offloadedBytes: number;
  recallsPerStep: number;
  offloadsPerStep: number;
  seconds: number;
}

export type RowBase = Pick<ResultRow, "model" | "dataset" | "tokensPerSequence" | "sequences" | "densePerplexity" | "codec" | "policy" | "budget"> & {
  /** Dense perplexity of each window. */
  readonly denseWindowPerplexities: readonly number[];
};

export function mean(values: readonly number[]): number {
  return values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;
}

export function resultRow(base: RowBase, totals: RunTotals): ResultRow {
  const { denseWindowPerplexities, ...identity } = base;
  const perplexity = Math.exp(totals.nll / totals.predicted);
  const windowPerplexityDeltas = totals.windowNll.map((nll, window) => Math.exp(nll / totals.windowPredicted[window]) - denseWindowPerplexities[window]);
  return {
    ...identity,
    perplexity,
    perplexityDelta: perplexity - base.densePerplexity,
    windowPerplexityDeltas,
    perplexityDeltaMean: mean(windowPerplexityDeltas),
    absolutePerplexityDeltaMean: mean(windowPerplexityDeltas.map(Math.abs)),
    klDivergence: totals.kl / totals.predicted,
    windowKlDivergences: totals.windowKl.map((kl, window) => kl / totals.windowPredicted[window]),
    top1Agreement: totals.top1Agreements / totals.predicted,
    attentionCosine: totals.cosineSum / totals.cosineCount,
    residentBytes: totals.residentBytesSum / totals.steps,
    residentFractionOfFp16: totals.fp16BytesSum > 0 ? totals.residentBytesSum / totals.fp16BytesSum : 2,
    peakResidentBytes: totals.peakBytesSum / Math.max(1, totals.windowNll.length),
    offloadedBytes: totals.offloadedBytesSum / totals.steps,
    recallsPerStep: totals.recalls / totals.steps,
    offloadsPerStep: totals.offloads / totals.steps,
    seconds: totals.seconds,
  };
}
