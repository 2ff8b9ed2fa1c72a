/**
 * Typed errors of @kvpack/policies. The brand makes `isInstance` work across bundle copies.
 */
const policyErrorBrand = Symbol.for("@kvpack/policies/error");

/** Bad policy options: budgets out of range, unknown policy names, wrong array lengths, NaN. */
export class PolicyConfigurationError extends Error {
  readonly [policyErrorBrand] = true;
  constructor(message: string) {
    super(message);
    this.name = "PolicyConfigurationError";
  }

  static isInstance(value: unknown): value is PolicyConfigurationError {
    return typeof value === "object" && value !== null && (value as Record<symbol, unknown>)[policyErrorBrand] === true;
  }
}
