/** One frontier point, as eval-attention-fidelity records it (only what the comparison reads). */
export interface FidelityPoint {
  readonly codec: string;
  readonly label: string;
  readonly bitsPerElement: number;
  readonly attentionCosine: number;
  readonly cosineP01: number;
  readonly scoreMse: number;
  readonly kl: number;
}

/** The attention-output metrics compared, and which way is better. */
export const fidelityMetrics = { attentionCosine: "higher", cosineP01: "higher", scoreMse: "lower", kl: "lower" } as const;
export type FidelityMetric = keyof typeof fidelityMetrics;

export interface MetricBest {
  readonly label: string;
  readonly bitsPerElement: number;
  readonly value: number;
  readonly referenceValue: number;
  /** Strictly better than the reference on this metric. */
  readonly beats: boolean;
}

export interface FidelityReferenceComparison {
  readonly reference: { readonly label: string; readonly bitsPerElement: number } & Record<FidelityMetric, number>;
  /** Per family and metric: its best point costing at most the reference's all-in bits (null when none does). */
  readonly bestPerFamily: Record<string, Record<FidelityMetric, MetricBest> | null>;
}

/**
 * Each family's best point at ≤ the reference's all-in bits (llama.cpp q4_0), metric by metric (the best
 * cosine and the lowest KL may be different configurations), beside the reference's value.
 */
export function compareFidelityWithReference(reference: FidelityPoint, points: readonly FidelityPoint[], families: readonly string[]): FidelityReferenceComparison {
  const metrics = Object.keys(fidelityMetrics) as FidelityMetric[];
  const bestPerFamily: Record<string, Record<FidelityMetric, MetricBest> | null> = {};
  for (const family of families) {
    const within = points.filter((point) => point.codec === family && point.bitsPerElement <= reference.bitsPerElement + 1e-9);
    if (within.length === 0) {
      bestPerFamily[family] = null;
      continue;
    }
    const best = {} as Record<FidelityMetric, MetricBest>;
    for (const metric of metrics) {
      const sign = fidelityMetrics[metric] === "higher" ? 1 : -1;
      const top = within.reduce((a, b) => (sign * b[metric] > sign * a[metric] ? b : a));
      best[metric] = { label: top.label, bitsPerElement: top.bitsPerElement, value: top[metric], referenceValue: reference[metric], beats: sign * top[metric] > sign * reference[metric] };
    }
    bestPerFamily[family] = best;
  }
  const { label, bitsPerElement, attentionCosine, cosineP01, scoreMse, kl } = reference;
  return { reference: { label, bitsPerElement, attentionCosine, cosineP01, scoreMse, kl }, bestPerFamily };
}
