import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadLlama2cCheckpoint, ModelFormatError } from "@kvpack/adapters";
import { afterAll, describe, expect, it } from "vitest";
import { runExportCli } from "./cli.js";
import { exportLlamaDecoderOnnx } from "./llama-decoder-graph.js";
import { modelsDataDirectory, readModelsData } from "./test-support/models-data.js";

describe("export CLI", () => {
  const directory = mkdtempSync(path.join(tmpdir(), "kvpack-export-onnx-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("writes the same bytes as exportLlamaDecoderOnnx, resolving relative paths against the start directory", async () => {
    const message = await runExportCli(["--", "stories260K.bin", path.join(directory, "stories260K.onnx")], modelsDataDirectory);
    expect(message).toMatch(/\(\d+ bytes\): 5 layers, 8 heads, 4 KV heads × 8, vocabulary 512$/);
    const written = new Uint8Array(readFileSync(path.join(directory, "stories260K.onnx")));
    const expected = exportLlamaDecoderOnnx(loadLlama2cCheckpoint(readModelsData("stories260K.bin")), { modelName: "stories260K" });
    expect(written.length).toBe(expected.length);
    // Buffer.compare: a byte-wise check without vitest's slow deep-equal over a megabyte.
    expect(Buffer.compare(written, expected)).toBe(0);
  });

  it("prints usage for wrong arguments and passes the loader's error through for a bad checkpoint", async () => {
    await expect(runExportCli(["only-one.bin"])).rejects.toThrow(/^usage: pnpm --filter @kvpack\/export-onnx export -- <checkpoint.bin> <out.onnx>$/);
    const truncated = path.join(directory, "truncated.bin");
    writeFileSync(truncated, readModelsData("stories260K.bin").subarray(0, 1000));
    const error = await runExportCli([truncated, path.join(directory, "out.onnx")]).catch((reason: unknown) => reason);
    expect(ModelFormatError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain("truncated");
  });
});
