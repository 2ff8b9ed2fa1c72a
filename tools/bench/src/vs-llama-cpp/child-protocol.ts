/** What the parent asks one child process to measure, and what the child reports back (one JSON line). */
import { readFileSync } from "node:fs";

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
  /** Timed repeats of the prefill and of each context's decode steps; the reported rate is their median. */
  readonly trials: number;
  readonly threads: number;
  /** Token ids fed to both engines (random ids ≥ 3, the same for every config). */
  readonly tokens: readonly number[];
}

export interface ContextResult {
  readonly context: number;
  /** The median of decodeTrials. */
  readonly decodeTokensPerSecond: number;
  /** Each trial's rate (decodeSteps steps), in the order run. */
  readonly decodeTrials: readonly number[];
  readonly kvBytesPerToken: number;
  /** The child's peak RSS once this context was timed (contexts run in ascending order, so it never falls). */
  readonly peakRssBytes: number;
}

export interface ChildResult {
  /** The median of prefillTrials. */
  readonly prefillTokensPerSecond: number;
  readonly prefillTrials: readonly number[];
  readonly contexts: readonly ContextResult[];
  /** The child's own peak resident set, in bytes (see peakResidentBytes). */
  readonly peakRssBytes: number;
  readonly loadSeconds: number;
  /** kvpack: the cache's attention backend ("wasm", or "typescript" when the kernels did not start or were turned off). */
  readonly attention?: string;
}

/** The middle value (the mean of the two middle ones for an even count); one run's noise moves it less than a mean. */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new RangeError("median of no values");
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

export const resultMarker = "KVPACK_VS_LLAMA_CPP_RESULT ";

/**
 * Peak RSS of this process's own address space. Linux keeps ru_maxrss across exec, so
 * process.resourceUsage().maxRSS of a spawned child is at least the parent's RSS at the fork
 * (the 2026-12-07 run read ~1,064 MB for every child below that); VmHWM belongs to the new
 * address space. maxRSS only where /proc is missing.
 */
export function peakResidentBytes(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"));
    if (match) return Number(match[1]) * 1024;
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS * 1024;
}

export function reportResult(result: ChildResult): void {
  process.stdout.write(`${resultMarker}${JSON.stringify({ ...result, peakRssBytes: peakResidentBytes() })}\n`);
}
