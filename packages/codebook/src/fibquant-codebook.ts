import { CodebookError, assertFinite, assertInteger } from "./codebook-error.js";
import { initialCandidates, randomRotation, rotateInto, type InitialCodebook } from "./fibquant-initial.js";
import {
  CellStatistics,
  accumulateFreshSamples,
  measureDistortion,
  measureHeldOutDistortion,
  sampleChunkSize,
  updateCentroids,
} from "./lloyd-refinement.js";
import { buildScalarCodebook, maximumScalarBits } from "./scalar-codebook.js";
import { createRandom } from "./random.js";
import { sampleSphericalBeta } from "./spherical-beta.js";
import { codebookSizeForRate, vectorCodebookFormatVersion, type VectorCodebook } from "./vector-codebook.js";

export interface FibQuantProgress {
  stage: string;
  /** Overall completion in [0, 1]. */
  fraction: number;
}

export interface FibQuantOptions {
  /** d: dimension of the rotated unit vectors (head dimension). */
  sourceDimension: number;
  /** k: coordinates per block. */
  blockSize: number;
  /** Rate in bits per coordinate; N = round(2^(k·b)). Give `bits` or `size`. */
  bits?: number;
  /** Codebook size N directly. */
  size?: number;
  seed?: number;
  /** Lloyd runs from different (randomly rotated) initial layouts; the best is kept. */
  restarts?: number;
  /** Lloyd iterations per restart. */
  iterations?: number;
  /** Fresh source blocks per codeword in each exploring Lloyd iteration (at least 4096 blocks in all). */
  samplesPerCodeword?: number;
  /** Lloyd passes on the winner with ≥ 2× larger samples, pooling cell statistics across passes. */
  polishIterations?: number;
  /** Held-out blocks for the reported distortion. */
  evaluationSamples?: number;
  /** Over-relaxation of exploring Lloyd steps (1 = plain Lloyd; default 1.5, measured to converge faster). */
  relaxation?: number;
  onProgress?: (progress: FibQuantProgress) => void;
}

/** Options with every default filled in; two equal resolved options give bit-identical codebooks. */
export interface ResolvedFibQuantOptions {
  readonly sourceDimension: number;
  readonly blockSize: number;
  readonly size: number;
  readonly seed: number;
  readonly restarts: number;
  readonly iterations: number;
  readonly samplesPerCodeword: number;
  readonly polishIterations: number;
  readonly evaluationSamples: number;
  readonly relaxation: number;
}

export const maximumBlockSize = 64;
export const maximumCodebookSize = 1 << 16;
export const defaultFibQuantSeed = 0x5eed;

export function resolveFibQuantOptions(options: FibQuantOptions): ResolvedFibQuantOptions {
  const { sourceDimension, blockSize } = options;
  assertInteger("sourceDimension", sourceDimension, 2);
  assertInteger("blockSize", blockSize, 1, Math.min(maximumBlockSize, sourceDimension));
  let size: number;
  if (options.size !== undefined) {
    assertInteger("size", options.size, 2, maximumCodebookSize);
    size = options.size;
    if (options.bits !== undefined) {
      assertFinite("bits", options.bits);
      if (codebookSizeForRate(blockSize, options.bits) !== size) {
        throw new CodebookError(
          "invalid-argument",
          `bits ${options.bits} with blockSize ${blockSize} means N = ${codebookSizeForRate(blockSize, options.bits)}, but size ${size} was given`,
        );
      }
    }
  } else if (options.bits !== undefined) {
    assertFinite("bits", options.bits);
    if (!(options.bits > 0)) throw new CodebookError("invalid-argument", `bits must be > 0, got ${options.bits}`);
    size = codebookSizeForRate(blockSize, options.bits);
    if (size < 2 || size > maximumCodebookSize) {
      throw new CodebookError(
        "invalid-argument",
        `bits ${options.bits} with blockSize ${blockSize} gives N = round(2^(k·b)) = ${size}; N must lie in [2, ${maximumCodebookSize}]`,
      );
    }
  } else {
    throw new CodebookError("invalid-argument", "give bits (per coordinate) or size (number of codewords)");
  }
  const seed = options.seed ?? defaultFibQuantSeed;
  assertInteger("seed", seed, 0, 0xffffffff);
  // Defaults scale the work down for large N, where one Lloyd pass already costs N·k per sample.
  // Effort tiers by the cost of one assignment, N·k: small codebooks are cheap and have several distinct local
  // optima, so they get more restarts and iterations; large ones start close to their high-rate optimum.
  const work = size * blockSize;
  const tier = work <= 256 ? 0 : work <= 1024 ? 1 : work <= 4096 ? 2 : 3;
  const restarts = options.restarts ?? [8, 4, 2, 1][tier];
  const iterations = options.iterations ?? [24, 12, 8, 5][tier];
  const samplesPerCodeword = options.samplesPerCodeword ?? [64, 48, 32, 16][tier];
  const polishIterations = options.polishIterations ?? [6, 6, 4, 4][tier];
  // The control-variate estimator needs far fewer held-out blocks than a plain mean for the same precision.
  // Small codebooks get more held-out blocks (assignments are cheap there, and their estimate's relative noise
  // matters most, e.g. k = 2, N = 4 against scalar).
  const evaluationSamples =
    options.evaluationSamples ?? Math.max(Math.min(524_288, Math.round(2 ** 23 / work)), Math.min(131_072, Math.max(65_536, 16 * size)));
  assertInteger("restarts", restarts, 1, 64);
  assertInteger("iterations", iterations, 0, 10_000);
  assertInteger("samplesPerCodeword", samplesPerCodeword, 1, 1 << 20);
  assertInteger("polishIterations", polishIterations, 0, 10_000);
  assertInteger("evaluationSamples", evaluationSamples, 1, 1 << 26);
  const relaxation = options.relaxation ?? 1.5;
  assertFinite("relaxation", relaxation);
  if (!(relaxation > 0 && relaxation < 2)) throw new CodebookError("invalid-argument", `relaxation must lie in (0, 2), got ${relaxation}`);
  return { sourceDimension, blockSize, size, seed, restarts, iterations, samplesPerCodeword, polishIterations, evaluationSamples, relaxation };
}

export interface FibQuantBuildReport {
  readonly codebook: VectorCodebook;
  readonly options: ResolvedFibQuantOptions;
  /** Every initial layout with its distortion on the selection sample (before refinement). */
  readonly candidates: ReadonlyArray<{ scheme: string; distortion: number }>;
  /** Each restart's layout and its distortion on the selection sample after refinement. */
  readonly restarts: ReadonlyArray<{ scheme: string; distortion: number }>;
  readonly chosenScheme: string;
  readonly buildMilliseconds: number;
}

/**
 * FibQuant codebook for blocks of k coordinates of rotated unit vectors in R^d:
 * 1. initial layouts — the per-codeword radius/direction scheme, product splits R shells × directions, and the
 *    scalar product grid where N = 2^(k·b) — each measured on a common sample;
 * 2. the best `restarts` layouts, each randomly rotated, refined by Lloyd–Max on fresh source samples every
 *    iteration (empty cells split the largest one); the restart with the lowest distortion on a fixed selection
 *    sample wins;
 * 3. the winner is polished with larger samples and its distortion measured on held-out samples.
 * Deterministic: the same options give bit-identical codewords.
 */
export function buildFibQuantCodebookWithReport(options: FibQuantOptions): FibQuantBuildReport {
  const started = performanceNow();
  const resolved = resolveFibQuantOptions(options);
  const { sourceDimension: d, blockSize: k, size, seed, restarts, iterations, samplesPerCodeword, polishIterations, evaluationSamples } = resolved;
  const onProgress = options.onProgress;
  const master = createRandom(seed);
  const layoutRandom = createRandom(master.nextUint32());
  const selectionRandom = createRandom(master.nextUint32());
  const evaluationRandom = createRandom(master.nextUint32());
  const restartSeeds = Array.from({ length: restarts }, () => master.nextUint32());
  const polishRandom = createRandom(master.nextUint32());

  const trainingSamples = Math.max(4096, samplesPerCodeword * size);
  const polishSamples = Math.max(65_536, 2 * trainingSamples);
  // With a single restart there is nothing to select, so only the candidate ranking needs a fixed sample.
  const selectionCount = restarts > 1 ? Math.min(131_072, Math.max(16_384, 32 * size)) : candidateSampleCount(size, Infinity);
  // Work in units of sample × codeword assignments, for the progress fraction.
  const candidatesList = initialCandidates(d, k, size, layoutRandom);
  const totalWork =
    candidatesList.length * candidateSampleCount(size, selectionCount) +
    restarts * (iterations * trainingSamples + (restarts > 1 ? selectionCount : 0)) +
    polishIterations * polishSamples +
    evaluationSamples;
  let doneWork = 0;
  const report = (stage: string, work: number): void => {
    doneWork += work;
    onProgress?.({ stage, fraction: Math.min(1, doneWork / totalWork) });
  };
  onProgress?.({ stage: "candidates", fraction: 0 });

  const statistics = new CellStatistics(size, k);
  const chunk = new Float32Array(sampleChunkSize * k);
  const selectionSamples = sampleSphericalBeta(d, k, selectionCount, selectionRandom);

  // Ranking layouts needs less precision than choosing between refined restarts: use a prefix of the sample.
  const candidateCount = candidateSampleCount(size, selectionCount);
  const candidates = candidatesList.map((candidate) => {
    const distortion = measureDistortion(candidate.codewords, size, d, k, selectionSamples, candidateCount, statistics);
    report("candidates", candidateCount);
    return { scheme: candidate.scheme, distortion, codewords: candidate.codewords };
  });
  const ranked = [...candidates].sort((left, right) => left.distortion - right.distortion);
  const starts: InitialCodebook[] = Array.from({ length: restarts }, (_, restart) => ranked[restart % ranked.length]);

  const relaxation = resolved.relaxation;
  const rotation = new Float64Array(k * k);
  let best: { scheme: string; distortion: number; codewords: Float64Array } | undefined;
  const restartResults: Array<{ scheme: string; distortion: number }> = [];
  for (let restart = 0; restart < restarts; restart++) {
    const random = createRandom(restartSeeds[restart]);
    const start = starts[restart];
    const codewords = new Float64Array(size * k);
    // The source is rotation invariant, so a rotated copy is an equally good start that Lloyd refines differently.
    randomRotation(k, random, rotation);
    for (let n = 0; n < size; n++) rotateInto(rotation, k, start.codewords, n * k, codewords, n * k);
    for (let iteration = 0; iteration < iterations; iteration++) {
      statistics.reset();
      accumulateFreshSamples(codewords, size, d, k, trainingSamples, random, statistics, chunk);
      updateCentroids(codewords, statistics, random, relaxation);
      report(`restart ${restart + 1}/${restarts}`, trainingSamples);
    }
    let distortion: number;
    if (restarts > 1) {
      distortion = measureDistortion(codewords, size, d, k, selectionSamples, selectionCount, statistics);
      report(`restart ${restart + 1}/${restarts}`, selectionCount);
    } else {
      // The last pass's fresh-sample distortion (before its update) is reported instead; nothing is selected.
      distortion = iterations > 0 ? ((d / k) * statistics.totalSquaredError) / statistics.totalCount : Number.NaN;
    }
    restartResults.push({ scheme: start.scheme, distortion });
    if (best === undefined || distortion < best.distortion) best = { scheme: start.scheme, distortion, codewords };
  }
  if (best === undefined) throw new CodebookError("invalid-argument", "restarts must be ≥ 1");

  // Polish: cell statistics accumulate over all polish passes (not reset), so each pass moves the codewords to the
  // centroids of a growing sample — a decreasing-step stochastic Lloyd whose sampling noise keeps shrinking.
  const codewords = best.codewords;
  statistics.reset();
  for (let iteration = 0; iteration < polishIterations; iteration++) {
    accumulateFreshSamples(codewords, size, d, k, polishSamples, polishRandom, statistics, chunk);
    const emptyCells = updateCentroids(codewords, statistics, polishRandom);
    // A split cell invalidates the pooled statistics of the two halves; start pooling afresh.
    if (emptyCells > 0) statistics.reset();
    report("polish", polishSamples);
  }

  let stored = Float32Array.from(codewords);
  const scalarBits = Math.min(maximumScalarBits, Math.max(1, Math.round(Math.log2(size) / k)));
  const scalar = buildScalarCodebook({ sourceDimension: d, bits: scalarBits });
  let distortion = measureHeldOutDistortion(Float64Array.from(stored), size, d, k, evaluationSamples, evaluationRandom, scalar);
  report("evaluate", evaluationSamples);
  let chosenScheme = best.scheme;
  // Where the scalar product grid has exactly N codewords its distortion is known exactly; where the refined code
  // does not beat it (k = 2, N = 4: the square is optimal and *is* the product), return the grid itself.
  const product = candidatesList.find((candidate) => candidate.scheme === "scalar-product");
  if (product !== undefined && scalarBits === Math.log2(size) / k && !(distortion < scalar.distortion)) {
    stored = Float32Array.from(product.codewords);
    distortion = scalar.distortion;
    chosenScheme = "scalar-product (unrefined)";
  }

  const codebook: VectorCodebook = {
    kind: "vector",
    formatVersion: vectorCodebookFormatVersion,
    sourceDimension: d,
    blockSize: k,
    size,
    bitsPerCoordinate: Math.log2(size) / k,
    codewords: stored,
    seed,
    distortion,
  };
  return {
    codebook,
    options: resolved,
    candidates: candidates.map(({ scheme, distortion: value }) => ({ scheme, distortion: value })),
    restarts: restartResults,
    chosenScheme,
    buildMilliseconds: performanceNow() - started,
  };
}

export function buildFibQuantCodebook(options: FibQuantOptions): VectorCodebook {
  return buildFibQuantCodebookWithReport(options).codebook;
}

function candidateSampleCount(size: number, selectionCount: number): number {
  return Math.min(selectionCount, Math.max(4096, (size <= 512 ? 8 : 2) * size));
}

function performanceNow(): number {
  return typeof performance !== "undefined" ? performance.now() : Date.now();
}
