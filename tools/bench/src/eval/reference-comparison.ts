import { pairedDifferenceInterval, type StoryTotals } from "./bootstrap.js";

/** One held-out run, as eval-perplexity records it (only what the comparison reads). */
export interface ScoredRun {
  readonly family: string;
  readonly label: string;
  readonly bitsPerElement: number;
  readonly perplexityDelta: number;
  readonly perplexityDeltaInterval?: [number, number];
  readonly perStory: StoryTotals;
}

export interface ReferencePair {
  readonly family: string;
  readonly label: string;
  readonly bitsPerElement: number;
  readonly perplexityDelta: number;
  /** Δppl(run) − Δppl(reference), and its paired bootstrap 95 % interval over the held-out stories. */
  readonly difference: number;
  readonly interval: [number, number];
  /** "beats" / "loses" only where the interval excludes 0. */
  readonly verdict: "beats" | "loses" | "no claim";
}

export interface ReferenceComparison {
  readonly reference: { readonly label: string; readonly bitsPerElement: number; readonly perplexityDelta: number; readonly perplexityDeltaInterval?: [number, number] };
  /** The runs that cost at most the reference's all-in bits, each paired with the reference. */
  readonly withinReferenceBits: ReferencePair[];
  /** Runs left out because they cost more bits than the reference (a comparison there would favour them). */
  readonly overReferenceBits: { readonly family: string; readonly label: string; readonly bitsPerElement: number }[];
}

/**
 * Pairs each run with a fixed-rate reference (llama.cpp q4_0) measured on the same held-out stories,
 * keeping only runs whose all-in bits do not exceed the reference's, so that "beats" means "better at
 * equal or fewer bits".
 */
export function compareWithReference(reference: ScoredRun, runs: readonly ScoredRun[]): ReferenceComparison {
  const within = runs.filter((run) => run.bitsPerElement <= reference.bitsPerElement + 1e-9);
  return {
    reference: { label: reference.label, bitsPerElement: reference.bitsPerElement, perplexityDelta: reference.perplexityDelta, perplexityDeltaInterval: reference.perplexityDeltaInterval },
    withinReferenceBits: within.map((run) => {
      const interval = pairedDifferenceInterval(run.perStory, reference.perStory);
      return {
        family: run.family,
        label: run.label,
        bitsPerElement: run.bitsPerElement,
        perplexityDelta: run.perplexityDelta,
        difference: run.perplexityDelta - reference.perplexityDelta,
        interval,
        verdict: interval[1] < 0 ? "beats" : interval[0] > 0 ? "loses" : "no claim",
      };
    }),
    overReferenceBits: runs.filter((run) => !within.includes(run)).map((run) => ({ family: run.family, label: run.label, bitsPerElement: run.bitsPerElement })),
  };
}
