import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GgufFile } from "../gguf/gguf-file.js";
import { writeGguf } from "../gguf/gguf-writer.js";
import { fileByteSource } from "./file-byte-source.js";

describe("fileByteSource", () => {
  const directory = mkdtempSync(path.join(tmpdir(), "kvpack-file-source-"));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));
  const data = Float32Array.from({ length: 32 * 8 }, (_, i) => (i % 13) - 6.5);
  const bytes = writeGguf({ "general.architecture": { type: "string", value: "llama" } }, [{ name: "w", dims: [32, 8], type: "Q4_0", data }]);
  const file = path.join(directory, "tiny.gguf");
  writeFileSync(file, bytes);

  it("reads the file's bytes at any offset, and a GGUF read through it equals the one from its bytes", () => {
    const source = fileByteSource(file);
    expect(source.byteLength).toBe(bytes.byteLength);
    expect(Array.from(source.read(7, 100))).toEqual(Array.from(bytes.subarray(7, 107)));
    const fromDisk = new GgufFile(source);
    expect(Array.from(fromDisk.float32("w"))).toEqual(Array.from(new GgufFile(bytes).float32("w")));
    source.close();
    source.close(); // closing twice is harmless
  });

  it("refuses reads outside the file and after close, naming the file", () => {
    const source = fileByteSource(file);
    expect(() => source.read(bytes.byteLength - 4, 8)).toThrowError(/outside .*tiny\.gguf/);
    source.close();
    expect(() => source.read(0, 4)).toThrowError(/tiny\.gguf was read after its byte source was closed/);
    expect(() => fileByteSource(path.join(directory, "missing.gguf"))).toThrowError(/ENOENT/);
  });
});
