// ArkVale (recall) vs StreamingLLM at a 50 % budget and matched resident bytes: entries and their table.
import { printTable } from "../bench-table.js";
import { type ResultRow, mean } from "./result-row.js";

export interface ComparisonEntry {
  model: string;
  dataset: string;
  codec: string;
  windows: number;
  streamingBytes: number;
  streamingPeakBytes: number;
  streamingDeltaMean: number;
  streamingAbsoluteDeltaMean: number;
  streamingKl: number;
  /** ArkVale at the same 50 % token budget (more bytes: its digests). */
  arkvaleBudgetBytes: number;
  arkvaleBudgetDeltaMean: number;
  arkvaleBudgetAbsoluteDeltaMean: number;
  arkvaleBudgetKl: number;
  matchedBudget: number;
  matchedBytes: number;
  /** ArkVale's largest resident bytes per window (mean over windows): rounding pages up front-loads bytes, so the peak may differ from StreamingLLM's. */
  matchedPeakBytes: number;
  matchedDeltaMean: number;
  matchedAbsoluteDeltaMean: number;
  matchedKl: number;
  matchedRecallsPerStep: number;
  /** Windows where matched ArkVale has the smaller |Δppl| / the smaller KL. */
  windowsLowerAbsoluteDelta: number;
  windowsLowerKl: number;
  /** The first ArkVale (fp32 digests, plain bound) at matched bytes, on the same windows. */
  paperBudget: number | null;
  paperAbsoluteDeltaMean: number | null;
  paperKl: number | null;
  bytesMatched: boolean;
  lowerAbsoluteDelta: boolean;
  lowerKl: boolean;
}

export function comparisonEntry(streaming: ResultRow, arkvale: ResultRow, matched: ResultRow, paper: ResultRow | undefined): ComparisonEntry {
  const windows = streaming.windowPerplexityDeltas.length;
  let windowsLowerAbsoluteDelta = 0;
  let windowsLowerKl = 0;
  for (let window = 0; window < windows; window++) {
    if (Math.abs(matched.windowPerplexityDeltas[window]) < Math.abs(streaming.windowPerplexityDeltas[window])) windowsLowerAbsoluteDelta += 1;
    if (matched.windowKlDivergences[window] < streaming.windowKlDivergences[window]) windowsLowerKl += 1;
  }
  return {
    model: streaming.model,
    dataset: streaming.dataset,
    codec: streaming.codec,
    windows,
    streamingBytes: streaming.residentBytes,
    streamingPeakBytes: streaming.peakResidentBytes,
    streamingDeltaMean: streaming.perplexityDeltaMean,
    streamingAbsoluteDeltaMean: streaming.absolutePerplexityDeltaMean,
    streamingKl: streaming.klDivergence,
    arkvaleBudgetBytes: arkvale.residentBytes,
    arkvaleBudgetDeltaMean: arkvale.perplexityDeltaMean,
    arkvaleBudgetAbsoluteDeltaMean: arkvale.absolutePerplexityDeltaMean,
    arkvaleBudgetKl: arkvale.klDivergence,
    matchedBudget: matched.budget as number,
    matchedBytes: matched.residentBytes,
    matchedPeakBytes: matched.peakResidentBytes,
    matchedDeltaMean: matched.perplexityDeltaMean,
    matchedAbsoluteDeltaMean: matched.absolutePerplexityDeltaMean,
    matchedKl: matched.klDivergence,
    matchedRecallsPerStep: matched.recallsPerStep,
    windowsLowerAbsoluteDelta,
    windowsLowerKl,
    paperBudget: paper?.budget ?? null,
    paperAbsoluteDeltaMean: paper?.absolutePerplexityDeltaMean ?? null,
    paperKl: paper?.klDivergence ?? null,
    // The secant search lands at or under the target, within 0.2 %.
    bytesMatched: matched.residentBytes <= 1.002 * streaming.residentBytes,
    lowerAbsoluteDelta: matched.absolutePerplexityDeltaMean < streaming.absolutePerplexityDeltaMean,
    lowerKl: matched.klDivergence < streaming.klDivergence,
  };
}

export function printComparisons(title: string, comparisons: ComparisonEntry[]): void {
  printTable(title, comparisons, [
    { header: "model", value: (row) => row.model },
    { header: "dataset", value: (row) => row.dataset },
    { header: "codec", value: (row) => row.codec },
    { header: "SLLM B", value: (row) => Math.round(row.streamingBytes), digits: 0 },
    { header: "SLLM Δppl", value: (row) => row.streamingDeltaMean, digits: 3 },
    { header: "SLLM |Δppl|", value: (row) => row.streamingAbsoluteDeltaMean, digits: 3 },
    { header: "SLLM KL", value: (row) => row.streamingKl, digits: 4 },
    { header: "ArkVale@50% B", value: (row) => Math.round(row.arkvaleBudgetBytes), digits: 0 },
    { header: "KL", value: (row) => row.arkvaleBudgetKl, digits: 4 },
    { header: "matched budget", value: (row) => row.matchedBudget, digits: 3 },
    { header: "ArkVale B", value: (row) => Math.round(row.matchedBytes), digits: 0 },
    { header: "peak B SLLM / ArkVale", value: (row) => `${Math.round(row.streamingPeakBytes)} / ${Math.round(row.matchedPeakBytes)}` },
    { header: "ArkVale Δppl", value: (row) => row.matchedDeltaMean, digits: 3 },
    { header: "ArkVale |Δppl|", value: (row) => row.matchedAbsoluteDeltaMean, digits: 3 },
    { header: "ArkVale KL", value: (row) => row.matchedKl, digits: 4 },
    { header: "paper KL", value: (row) => row.paperKl ?? Number.NaN, digits: 4 },
    { header: "win |Δ| / KL", value: (row) => `${row.windowsLowerAbsoluteDelta}/${row.windows} ${row.windowsLowerKl}/${row.windows}` },
    { header: "lower |Δppl|", value: (row) => (row.lowerAbsoluteDelta ? "yes" : "no") },
    { header: "lower KL", value: (row) => (row.lowerKl ? "yes" : "no") },
  ]);
}
