import { DenseKVCache } from "@kvpack/cache";
import { createWasmBackend } from "@kvpack/kernels";
import { describe, expect, it } from "vitest";
import { loadLlama2cTokenizer } from "../llama2c/load-llama2c-tokenizer.js";
import type { LlamaConfig, LlamaWeights } from "../model/llama-weights.js";
import { ModelFormatError } from "../model/model-format-error.js";
import { readModelsData } from "../model/test-models-data.js";
import { KernelLlamaRuntime, ResidentLlamaWeights } from "../runtime/kernel-llama-runtime.js";
import { type GgufByteSource, memoryByteSource } from "./gguf-byte-source.js";
import { GgufFile } from "./gguf-file.js";
import { writeGguf } from "./gguf-writer.js";
import { loadGgufLlama } from "./load-gguf-llama.js";
import { writeLlamaGguf } from "./write-llama-gguf.js";

/** A source over bytes in memory that copies each read (as a file on disk does) and records its length. */
function recordingSource(bytes: Uint8Array): GgufByteSource & { reads: number[] } {
  const inner = memoryByteSource(bytes);
  const reads: number[] = [];
  return { byteLength: inner.byteLength, readsCopy: true, reads, read: (offset, length) => (reads.push(length), inner.read(offset, length).slice()) };
}

const sum = (values: readonly number[]) => values.reduce((total, value) => total + value, 0);

describe("GgufFile over a byte source", () => {
  // 120,000 metadata strings make a header of ~1.9 MB, past the first 1 MiB read.
  const notes = Array.from({ length: 120_000 }, (_, i) => `note ${i}`);
  const data = Float32Array.from({ length: 64 * 4 }, (_, i) => Math.cos(i * 0.11) * 3);
  const bytes = writeGguf(
    { "general.architecture": { type: "string", value: "llama" }, "general.notes": { type: "array", itemType: "string", value: notes } },
    [
      { name: "a", dims: [64, 4], type: "Q8_0", data },
      { name: "b", dims: [64, 4], type: "F32", data },
    ],
  );

  it("parses a header longer than its first read, and reads each tensor only when asked, the same as from the bytes", () => {
    const source = recordingSource(bytes);
    const file = new GgufFile(source);
    const inMemory = new GgufFile(bytes);
    // Expected: a 1 MiB read, then 4 MiB (the whole 1.9 MB file is shorter, so it reads it all: the header ends near the end).
    expect(source.reads).toEqual([1 << 20, Math.min(4 << 20, bytes.byteLength)]);
    expect(file.metadata.get("general.notes")).toEqual(notes);
    expect([...file.tensors.values()]).toEqual([...inMemory.tensors.values()]);
    source.reads.length = 0;
    const blocks = file.quantized("a", [64, 4]);
    expect(source.reads).toEqual([]); // a quantized tensor reads nothing until its blocks are taken
    expect(Array.from(blocks.blocks)).toEqual(Array.from(inMemory.quantized("a").blocks));
    expect(Array.from(file.float32("b"))).toEqual(Array.from(data)); // F32 round-trips exactly
    expect(source.reads).toEqual([blocks.byteLength, 64 * 4 * 4]);
  });

  it("names the tensor of a file cut short, as for bytes in memory", () => {
    const cut = bytes.subarray(0, bytes.byteLength - 10);
    const file = new GgufFile(recordingSource(cut));
    expect(() => file.float32("b")).toThrowError(ModelFormatError);
    expect(() => file.float32("b")).toThrowError(/truncated: expected \d+ bytes for tensor b \(F32\), file has \d+/);
    // A header cut short is still a truncation once the whole source has been read.
    expect(() => new GgufFile(recordingSource(bytes.subarray(0, 500_000)))).toThrowError(/GGUF file truncated/);
  });
});

describe("loadGgufLlama over a byte source", () => {
  const config: LlamaConfig = { dim: 64, hiddenDim: 128, layers: 2, heads: 4, kvHeads: 2, vocabSize: 512, maxSequenceLength: 64, headDim: 16, ropeTheta: 10000, normEpsilon: 1e-5, sharedClassifier: true };
  let seed = 5;
  const uniform = (length: number) =>
    Float32Array.from({ length }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return (seed / 4294967296 - 0.5) * 0.4;
    });
  const kvDim = config.kvHeads * config.headDim;
  const tokenEmbedding = uniform(config.vocabSize * config.dim);
  const weights: LlamaWeights = {
    config,
    tokenEmbedding,
    classifier: tokenEmbedding,
    finalNorm: new Float32Array(config.dim).fill(1),
    layers: Array.from({ length: config.layers }, () => ({
      attentionNorm: new Float32Array(config.dim).fill(1),
      ffnNorm: new Float32Array(config.dim).fill(1),
      wq: uniform(config.dim * config.dim),
      wk: uniform(kvDim * config.dim),
      wv: uniform(kvDim * config.dim),
      wo: uniform(config.dim * config.dim),
      w1: uniform(config.hiddenDim * config.dim),
      w2: uniform(config.dim * config.hiddenDim),
      w3: uniform(config.hiddenDim * config.dim),
    })),
  };
  const bytes = writeLlamaGguf(weights, loadLlama2cTokenizer(readModelsData("tok512.bin"), 512), { tensorType: "Q8_0" });

  async function logits(resident: ResidentLlamaWeights): Promise<number[]> {
    const runtime = new KernelLlamaRuntime(resident);
    const cache = new DenseKVCache({ layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim, capacity: 8 });
    let out: Float32Array = new Float32Array(0);
    for (const [position, token] of [1, 40, 300, 7].entries()) out = await runtime.forward(token, position, cache);
    return Array.from(out);
  }

  it("with lazyMatrices reads the header and small vectors at load, each matrix once at upload, and gives the same logits bit for bit", async () => {
    const backend = createWasmBackend({ threads: 1 });
    await backend.init();
    const source = recordingSource(bytes);
    const loaded = loadGgufLlama(source, { lazyMatrices: true });
    const file = new GgufFile(bytes);
    const tensorBytes = [...file.tensors.values()].map((info) => info.byteLength);
    const matrixBytes = [...file.tensors.values()].filter((info) => info.dims.length === 2).map((info) => info.byteLength);
    // At load: the whole (short) file as the header's first read, then only 1-D tensors (norms), no matrix.
    expect(source.reads[0]).toBe(Math.min(1 << 20, bytes.byteLength));
    const atLoad = source.reads.slice(1);
    expect(sum(atLoad)).toBe(sum(tensorBytes) - sum(matrixBytes));
    source.reads.length = 0;
    const resident = new ResidentLlamaWeights(backend, loaded.weights, { blocks: loaded.matrixBlocks });
    // At upload: the largest read is one tensor (token_embd, read for the tied classifier and for its rows), never the file.
    expect(Math.max(...source.reads)).toBe(Math.max(...matrixBytes));
    expect(sum(source.reads)).toBe(sum(matrixBytes) + file.tensors.get("token_embd.weight")!.byteLength);
    loaded.releaseFile();
    const fromBytes = loadGgufLlama(bytes, { lazyMatrices: true });
    expect(await logits(resident)).toEqual(await logits(new ResidentLlamaWeights(backend, fromBytes.weights, { blocks: fromBytes.matrixBlocks })));
    backend.dispose();
  });
});
