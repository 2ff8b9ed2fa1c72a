export { CodebookError, type CodebookErrorCode } from "./codebook-error.js";
export { createRandom, sampleGamma, type SeededRandom } from "./random.js";
export { mulberry32 } from "./mulberry32.js";
export {
  logGamma,
  logBeta,
  regularizedIncompleteBeta,
  regularizedIncompleteBetaComplement,
  betaDensity,
  betaQuantile,
} from "./beta-function.js";
export {
  coordinateDensity,
  coordinateCumulative,
  coordinateQuantile,
  blockSquaredNormCumulative,
  sampleSphericalBeta,
} from "./spherical-beta.js";
export {
  buildScalarCodebook,
  quantizeScalar,
  maximumScalarBits,
  scalarCodebookFormatVersion,
  type ScalarCodebook,
  type ScalarCodebookOptions,
} from "./scalar-codebook.js";
export { normalQuantile, complementaryErrorFunction } from "./normal-quantile.js";
export {
  quasiUniformDirections,
  mapCubeToSphere,
  robertsKroneckerPoint,
  generalizedGoldenRatio,
  goldenRatio,
} from "./quasi-uniform-directions.js";
export { codebookSizeForRate, vectorCodebookFormatVersion, type VectorCodebook } from "./vector-codebook.js";
export {
  companderBetaShape,
  perCodewordInitial,
  shellInitial,
  scalarProductInitial,
  initialCandidates,
  randomRotation,
  type InitialCodebook,
} from "./fibquant-initial.js";
export {
  buildFibQuantCodebook,
  buildFibQuantCodebookWithReport,
  resolveFibQuantOptions,
  defaultFibQuantSeed,
  maximumBlockSize,
  maximumCodebookSize,
  type FibQuantOptions,
  type FibQuantProgress,
  type FibQuantBuildReport,
  type ResolvedFibQuantOptions,
} from "./fibquant-codebook.js";
export {
  createNearestCodewordSearch,
  nearestCodewordBruteForce,
  RadialNearestSearch,
  ScanNearestSearch,
  prefersRadialSearch,
  prefersClusterSearch,
  type NearestCodewordSearch,
  type BlockNearestCodewordSearch,
  type DistanceReportingSearch,
} from "./nearest-codeword.js";
export { ClusterNearestSearch } from "./cluster-nearest-search.js";
export {
  serializeCodebook,
  deserializeCodebook,
  codebookToJson,
  codebookFromJson,
  crc32,
  codebookMagic,
  codebookContainerVersion,
  type CodebookJson,
} from "./serialization.js";
export {
  CodebookCache,
  defaultCodebookCache,
  fibQuantKey,
  type CodebookCacheOptions,
  type CodebookCacheStats,
} from "./codebook-cache.js";
