export { CodebookError, type CodebookErrorCode } from "./codebook-error.js";
export { createRandom, sampleGamma, type SeededRandom } from "./random.js";
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
