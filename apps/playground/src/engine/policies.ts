import type { Policy } from "@kvpack/cache";
import { H2oPolicy, SnapKvPolicy, StreamingLlmPolicy, TovaPolicy } from "@kvpack/policies";
import type { PolicyName } from "./compression-settings.js";

const builders: Record<PolicyName, (tokens: number) => Policy> = {
  "streaming-llm": (tokens) => new StreamingLlmPolicy({ budget: { tokens } }),
  h2o: (tokens) => new H2oPolicy({ budget: { tokens } }),
  tova: (tokens) => new TovaPolicy({ budget: { tokens } }),
  snapkv: (tokens) => new SnapKvPolicy({ budget: { tokens } }),
};

/** The retention policy for the settings, or undefined to keep every token. */
export function createPolicy(name: string, budget: number): Policy | undefined {
  if (name === "none") return undefined;
  const build = builders[name as PolicyName];
  if (!build) throw new RangeError(`unknown policy ${name}`);
  return build(budget);
}
