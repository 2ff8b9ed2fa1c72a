/** What the parent asks one child process to measure, and what the child reports back (one JSON line). */
export interface ChildRequest {
  readonly engine: "kvpack" | "llama.cpp";
  readonly weights: "Q8_0" | "F16";
  readonly modelPath: string;
  /** kvpack cache name or llama.cpp KV type. */
  readonly kv: string;
  /** Ascending; the cache is filled to each in turn and timed there. */
  readonly contexts: readonly number[];
  readonly decodeSteps: number;
  /** Tokens in the timed prefill from an empty cache. */
  readonly prefillTokens: number;
  readonly threads: number;
  /** Token ids fed to both engines (random ids ≥ 3, the same for every config). */
  readonly tokens: readonly number[];
}

export interface ContextResult {
  readonly context: number;
  readonly decodeTokensPerSecond: number;
  readonly kvBytesPerToken: number;
}

export interface ChildResult {
  readonly prefillTokensPerSecond: number;
  readonly contexts: readonly ContextResult[];
  /** process.resourceUsage().maxRSS of the child, in bytes. */
  readonly peakRssBytes: number;
  readonly loadSeconds: number;
  /** kvpack: the cache's attention backend ("wasm", or "typescript" when the kernels did not start or were turned off). */
  readonly attention?: string;
}

export const resultMarker = "KVPACK_VS_LLAMA_CPP_RESULT ";

export function reportResult(result: ChildResult): void {
  process.stdout.write(`${resultMarker}${JSON.stringify({ ...result, peakRssBytes: process.resourceUsage().maxRSS * 1024 })}\n`);
}
