import { describe, expect, it } from "vitest";
import { dequantizeGgml } from "./ggml-dequantize.js";
import { GgmlType } from "./gguf-types.js";
import { GgufFile } from "./gguf-file.js";
import { quantizeGgml, writeGguf } from "./gguf-writer.js";

describe("GgufFile.quantized", () => {
  const data = Float32Array.from({ length: 512 * 2 }, (_, i) => Math.sin(i * 0.37) * (1 + (i % 7)));
  const bytes = writeGguf({ "general.architecture": { type: "string", value: "llama" } }, [{ name: "w", dims: [512, 2], type: "Q4_K", data }]);
  const file = new GgufFile(bytes);

  it("keeps the file's blocks as a view (no copy) with the row-major shape", () => {
    const tensor = file.quantized("w", [512, 2]);
    expect(tensor.type).toBe("Q4_K");
    expect(tensor.shape).toEqual([2, 512]);
    expect(tensor.blocks.buffer).toBe(bytes.buffer); // the same memory as the file bytes passed in
    expect(tensor.blocks.byteLength).toBe(4 * 144); // 1024 values = 4 blocks of 256, 144 bytes each
    // The blocks are the writer's bytes, unchanged.
    expect(Array.from(tensor.blocks)).toEqual(Array.from(quantizeGgml("Q4_K", data)));
    expect(Array.from(tensor.dequantize())).toEqual(Array.from(dequantizeGgml(GgmlType.Q4_K, tensor.blocks, 0, 1024)));
    expect(Array.from(file.float32("w"))).toEqual(Array.from(tensor.dequantize()));
  });

  it("names the tensor and the expected dims on a mismatch", () => {
    expect(() => file.quantized("w", [256, 4])).toThrowError(/GGUF tensor w has dims \[512, 2\], expected \[256, 4\]/);
    expect(() => file.quantized("missing")).toThrowError(/no tensor missing/);
  });
});
