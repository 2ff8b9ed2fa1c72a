import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { loadModelFolder } from "@kvpack/adapters";
import { afterAll, describe, expect, it } from "vitest";
import { runExportFolderCli } from "./export-folder-cli.js";
import { modelsDataDirectory } from "./test-support/models-data.js";

describe("export-folder CLI", () => {
  const directory = mkdtempSync(path.join(tmpdir(), "kvpack-export-folder-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  it("writes a folder loadModelFolder reads, with the ONNX variants asked for", async () => {
    const folder = path.join(directory, "stories260K");
    const message = await runExportFolderCli(["--", "stories260K.bin", "tok512.bin", folder, "fp32,q8"], modelsDataDirectory);
    expect(message).toMatch(/^wrote 7 files to .*: config\.json, generation_config\.json, tokenizer\.json, tokenizer_config\.json, model\.safetensors, onnx\/model\.onnx, onnx\/model_quantized\.onnx$/);
    expect(existsSync(path.join(folder, "onnx", "model_fp16.onnx"))).toBe(false);
    const loaded = await loadModelFolder(folder);
    expect(loaded.weights.kind).toBe("llama");
    expect(loaded.tokenizer.encode("Once upon a time")).toEqual([1, 403, 407, 261, 378]);
    const onnx = await loadModelFolder(folder, { format: "onnx", onnxFile: "onnx/model_quantized.onnx" });
    expect(onnx.weights.kind === "onnx" && onnx.weights.file).toBe("onnx/model_quantized.onnx");
  });

  it("--external-data writes each decoder's weights beside it as <file>.onnx_data", async () => {
    const folder = path.join(directory, "stories260K-external");
    const message = await runExportFolderCli(["--", "stories260K.bin", "tok512.bin", folder, "uint8", "--external-data"], modelsDataDirectory);
    expect(message).toMatch(/onnx\/model_uint8\.onnx, onnx\/model_uint8\.onnx_data$/);
    const onnx = await loadModelFolder(folder, { format: "onnx" });
    expect(onnx.weights.kind === "onnx" && [onnx.weights.file, onnx.weights.externalData.map(({ path: location }) => location)]).toEqual(["onnx/model_uint8.onnx", ["model_uint8.onnx_data"]]);
  });

  it("prints usage for wrong arguments and unknown variants", async () => {
    await expect(runExportFolderCli(["a.bin", "b.bin"])).rejects.toThrow(/^usage: /);
    await expect(runExportFolderCli(["a.bin", "b.bin", "out", "fp32,int3"])).rejects.toThrow(/unknown ONNX variant "int3"/);
  });
});
