import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { median, resultMarker } from "./child-protocol.js";

const here = dirname(fileURLToPath(import.meta.url));

describe("reportResult's peak RSS", () => {
  it("is the child's own, not the spawning parent's (ru_maxrss survives exec on Linux)", () => {
    if (process.platform !== "linux") return;
    // The parent holds 400 MB resident while it spawns the child; a child that reads ru_maxrss
    // reports at least that. A bare Node child peaks near 40–60 MB, so 200 MB separates the two.
    const held = Buffer.alloc(400e6, 1);
    const output = execFileSync(process.execPath, ["--import", "tsx", join(here, "report-empty-result.ts")], { encoding: "utf8" });
    const line = output.split("\n").find((text) => text.startsWith(resultMarker));
    expect(line).toBeDefined();
    const { peakRssBytes } = JSON.parse(line!.slice(resultMarker.length)) as { peakRssBytes: number };
    expect(peakRssBytes).toBeGreaterThan(10e6);
    expect(peakRssBytes).toBeLessThan(200e6);
    expect(held[held.length - 1]).toBe(1);
  }, 30_000); // a Node child with tsx's loader: ~1 s on a quiet machine, past 5 s on a loaded 2-core one
});

describe("median", () => {
  // Expected values by hand: the middle of the sorted values, the mean of the two middle ones for an even count.
  it("takes the middle value whatever the order, and refuses no values", () => {
    expect(median([30.1, 11.2, 25.0])).toBe(25.0);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrowError(RangeError);
  });
});
