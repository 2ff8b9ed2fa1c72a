import { describe, expect, it } from "vitest";
import { collectEntries, inputFiles, isModelFolder, type DroppedEntry } from "./collect-dropped-files.js";

const fileEntry = (name: string, text: string): DroppedEntry => ({
  isFile: true,
  isDirectory: false,
  name,
  file: (success) => success(new File([text], name)),
});

/** A directory whose reader hands its entries out two at a time, then an empty batch (as Chromium does in batches of 100). */
const directoryEntry = (name: string, children: DroppedEntry[]): DroppedEntry => ({
  isFile: false,
  isDirectory: true,
  name,
  createReader: () => {
    let next = 0;
    return {
      readEntries: (success) => {
        success(children.slice(next, next + 2));
        next += 2;
      },
    };
  },
});

describe("dropped folders", () => {
  it("walks a dropped directory depth first, every batch of entries, keeping paths inside the drop", async () => {
    const folder = directoryEntry("tiny", [
      fileEntry("config.json", "{}"),
      fileEntry("tokenizer.json", "{}"),
      fileEntry("model.safetensors", "weights"),
      directoryEntry("onnx", [fileEntry("model.onnx", "graph")]),
    ]);
    const files = await collectEntries([folder, fileEntry("notes.txt", "hi")]);
    expect(files.map((file) => file.path)).toEqual(["tiny/config.json", "tiny/tokenizer.json", "tiny/model.safetensors", "tiny/onnx/model.onnx", "notes.txt"]);
    expect(await files[2]!.file.text()).toBe("weights");
    expect(isModelFolder(files)).toBe(true);
  });

  it("tells a model folder by its config.json at the top or one folder down, not deeper", () => {
    const of = (...paths: string[]) => paths.map((path) => ({ path, file: new File([], path.split("/").at(-1)!) }));
    expect(isModelFolder(of("config.json", "model.safetensors"))).toBe(true);
    expect(isModelFolder(of("model.gguf"))).toBe(false);
    expect(isModelFolder(of("a/b/config.json"))).toBe(false);
  });

  it("takes a chosen file's path from webkitRelativePath, else its name", () => {
    const plain = new File(["x"], "model.gguf");
    expect(inputFiles([plain]).map((file) => file.path)).toEqual(["model.gguf"]);
  });
});
