import { mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { CodebookCache, defaultCodebookCache } from "./codebook-cache.js";
import { serializeCodebook } from "./serialization.js";

const quick = { restarts: 1, iterations: 3, polishIterations: 1, evaluationSamples: 4096 };
const directory = mkdtempSync(join(tmpdir(), "kvpack-codebook-cache-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));

describe("CodebookCache", () => {
  it("builds once per option set and counts hits, misses and build time", () => {
    const cache = new CodebookCache();
    const options = { sourceDimension: 32, blockSize: 2, bits: 2, ...quick };
    const first = cache.getFibQuant(options);
    const second = cache.getFibQuant({ ...options, size: 16 });
    expect(second).toBe(first);
    expect(cache.getFibQuant({ ...options, seed: 99 })).not.toBe(first);
    expect(cache.getScalar({ sourceDimension: 32, bits: 2 })).toBe(cache.getScalar({ sourceDimension: 32, bits: 2 }));
    const stats = cache.stats;
    expect(stats.misses).toBe(3);
    expect(stats.hits).toBe(2);
    expect(stats.lastBuildMilliseconds).toBeGreaterThanOrEqual(0);
    expect(stats.totalBuildMilliseconds).toBeGreaterThan(0);
    expect(cache.buildMilliseconds(options)).toBeGreaterThan(0);
    expect(cache.usesFiles).toBe(false);
  });

  it("persists to a directory and reads it back in a new cache, rebuilding corrupt files", async () => {
    const options = { sourceDimension: 16, blockSize: 4, bits: 1, ...quick };
    const writer = new CodebookCache({ directory });
    await writer.ready();
    expect(writer.usesFiles).toBe(true);
    const built = writer.getFibQuant(options);
    writer.getScalar({ sourceDimension: 16, bits: 3 });
    const files = readdirSync(directory);
    expect(files.length).toBe(2);

    const reader = new CodebookCache({ directory });
    const loaded = await reader.getFibQuantAsync(options);
    expect(Buffer.from(serializeCodebook(loaded)).equals(Buffer.from(serializeCodebook(built)))).toBe(true);
    expect(reader.stats.fileHits).toBe(1);
    expect(reader.stats.misses).toBe(0);

    for (const file of files) writeFileSync(join(directory, file), new Uint8Array([1, 2, 3]));
    const repairer = new CodebookCache({ directory });
    const rebuilt = repairer.getFibQuant(options);
    expect(repairer.stats.misses).toBe(1);
    expect(Buffer.from(serializeCodebook(rebuilt)).equals(Buffer.from(serializeCodebook(built)))).toBe(true);
  });

  it("serves scalar tables asynchronously from the file cache", async () => {
    const writer = new CodebookCache({ directory });
    const built = await writer.getScalarAsync({ sourceDimension: 24, bits: 5 });
    const reader = new CodebookCache({ directory });
    const loaded = await reader.getScalarAsync({ sourceDimension: 24, bits: 5 });
    expect(loaded).toEqual(built);
    expect(reader.stats.fileHits).toBe(1);
  });

  it("passes progress through on a miss and shares one default cache", () => {
    const fractions: number[] = [];
    new CodebookCache().getFibQuant({ sourceDimension: 16, blockSize: 2, bits: 1, ...quick, onProgress: (progress) => fractions.push(progress.fraction) });
    expect(fractions[fractions.length - 1]).toBe(1);
    expect(defaultCodebookCache()).toBe(defaultCodebookCache());
  });
});
