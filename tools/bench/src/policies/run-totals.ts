// Per-run sums a policy run accumulates, and their per-window closing.


/** Dense fp32 log-probabilities of one sequence, (length − 1) × vocab. */
export type DenseReference = Float32Array;

export interface RunTotals {
  nll: number;
  kl: number;
  top1Agreements: number;
  predicted: number;
  cosineSum: number;
  cosineCount: number;
  residentBytesSum: number;
  offloadedBytesSum: number;
  fp16BytesSum: number;
  steps: number;
  recalls: number;
  offloads: number;
  seconds: number;
  /** Sum over windows of each window's largest resident bytes (its last steps). */
  peakBytesSum: number;
  /** Per window (sequence): summed NLL, summed KL and predicted tokens. */
  windowNll: number[];
  windowKl: number[];
  windowPredicted: number[];
}

export function emptyTotals(): RunTotals {
  return {
    nll: 0,
    kl: 0,
    top1Agreements: 0,
    predicted: 0,
    cosineSum: 0,
    cosineCount: 0,
    residentBytesSum: 0,
    offloadedBytesSum: 0,
    fp16BytesSum: 0,
    steps: 0,
    recalls: 0,
    offloads: 0,
    seconds: 0,
    peakBytesSum: 0,
    windowNll: [],
    windowKl: [],
    windowPredicted: [],
  };
}

/** Closes one window's per-window sums (everything accumulated since the previous call). */
export function closeWindow(totals: RunTotals): void {
  const sum = (values: number[]) => values.reduce((total, value) => total + value, 0);
  totals.windowNll.push(totals.nll - sum(totals.windowNll));
  totals.windowKl.push(totals.kl - sum(totals.windowKl));
  totals.windowPredicted.push(totals.predicted - sum(totals.windowPredicted));
}
