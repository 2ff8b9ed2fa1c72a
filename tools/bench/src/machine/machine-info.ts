import { readFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";

export interface MachineInfo {
  readonly node: string;
  readonly platform: string;
  readonly cpu: string;
  readonly cores: number;
  readonly memoryBytes: number;
  /** Largest CPU cache level's size (Linux sysfs), or null when unknown. */
  readonly lastLevelCacheBytes: number | null;
  readonly date: string;
}

/** Linux: the largest cache in /sys/devices/system/cpu/cpu0/cache (sizes like "32768K"). */
function lastLevelCacheBytes(): number | null {
  let largest: number | null = null;
  for (let index = 0; index < 8; index++) {
    try {
      const text = readFileSync(`/sys/devices/system/cpu/cpu0/cache/index${index}/size`, "utf8").trim();
      const match = /^(\d+)([KMG]?)$/.exec(text);
      if (!match) continue;
      const bytes = Number(match[1]) * ({ "": 1, K: 1024, M: 1 << 20, G: 1 << 30 } as Record<string, number>)[match[2]];
      largest = Math.max(largest ?? 0, bytes);
    } catch {
      break;
    }
  }
  return largest;
}

/** Machine facts recorded next to every result, so timings can be compared honestly. */
export function machineInfo(): MachineInfo {
  const processors = cpus();
  return {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpu: processors[0]?.model ?? "unknown",
    cores: processors.length,
    memoryBytes: totalmem(),
    lastLevelCacheBytes: lastLevelCacheBytes(),
    date: new Date().toISOString().slice(0, 10),
  };
}

/** One line for table captions: "AMD EPYC, 2 cores, Node v20.20.2, 2026-12-06". */
export function machineLine(machine: Pick<MachineInfo, "cpu" | "cores" | "node"> & { date?: string }): string {
  return `${machine.cpu}, ${machine.cores} cores, Node ${machine.node}${machine.date ? `, ${machine.date}` : ""}`;
}
