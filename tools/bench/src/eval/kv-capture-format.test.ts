import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createDenseCache } from "@kvpack/adapters";
import {
  KvCaptureFormatError,
  capturedArrayLengths,
  capturedOffset,
  decodeKvCapture,
  encodeKvCapture,
  kvCaptureFormatVersion,
  readKvCapture,
  writeKvCapture,
  type KvCapture,
} from "./kv-capture-format.js";
import { captureKv } from "./capture-kv.js";
import { loadEvaluationModel, modelsDataDirectory, tinyStoriesSequences } from "./models-data.js";

function syntheticCapture(): KvCapture {
  const shape = { layers: 2, heads: 4, kvHeads: 2, headDim: 3 };
  const sequences = [5, 2].map((length, index) => {
    const sizes = capturedArrayLengths(shape, length);
    const fill = (count: number, base: number) => Float32Array.from({ length: count }, (_, at) => Math.fround((at - count / 2) * 0.37 + base) * (at % 3 === 0 ? 1e-30 : 1));
    return {
      source: `synthetic:${index}`,
      tokens: Array.from({ length }, (_, at) => at * 7 + index),
      keys: fill(sizes.keys, 1),
      values: fill(sizes.keys, -2),
      queries: fill(sizes.queries, 3.5),
    };
  });
  return { model: "synthetic", shape, config: { ropeTheta: 10000, note: "é ✓" }, sequences };
}

describe("KV capture format", () => {
  it("round-trips every float bit for bit, with the header", () => {
    const capture = syntheticCapture();
    const bytes = encodeKvCapture(capture);
    expect(new TextDecoder().decode(bytes.subarray(0, 4))).toBe("KVPK");
    expect(new DataView(bytes.buffer).getUint32(4, true)).toBe(kvCaptureFormatVersion);
    const decoded = decodeKvCapture(bytes);
    expect(decoded.model).toBe("synthetic");
    expect(decoded.shape).toEqual(capture.shape);
    expect(decoded.config).toEqual(capture.config);
    expect(decoded.sequences.length).toBe(2);
    decoded.sequences.forEach((sequence, index) => {
      const original = capture.sequences[index];
      expect(sequence.source).toBe(original.source);
      expect(sequence.tokens).toEqual(original.tokens);
      expect(sequence.keys).toEqual(original.keys);
      expect(sequence.values).toEqual(original.values);
      expect(sequence.queries).toEqual(original.queries);
    });
  });

  it("writes and reads a file", () => {
    const directory = mkdtempSync(join(tmpdir(), "kvpk-"));
    try {
      const path = join(directory, "nested", "capture.kvpk");
      writeKvCapture(path, syntheticCapture());
      expect(readKvCapture(path).sequences[1].queries).toEqual(syntheticCapture().sequences[1].queries);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it("rejects a wrong magic, an unknown version, truncation, trailing bytes and wrong array lengths", () => {
    const bytes = encodeKvCapture(syntheticCapture());
    const badMagic = bytes.slice();
    badMagic[0] = 0x58;
    expect(() => decodeKvCapture(badMagic)).toThrow(/magic/);
    const badVersion = bytes.slice();
    new DataView(badVersion.buffer).setUint32(4, kvCaptureFormatVersion + 1, true);
    expect(() => decodeKvCapture(badVersion)).toThrow(/version/);
    expect(() => decodeKvCapture(bytes.subarray(0, bytes.length - 4))).toThrow(KvCaptureFormatError);
    const longer = new Uint8Array(bytes.length + 4);
    longer.set(bytes);
    expect(() => decodeKvCapture(longer)).toThrow(/trailing/);
    expect(() => decodeKvCapture(bytes.subarray(0, 6))).toThrow(KvCaptureFormatError);
    const capture = syntheticCapture();
    const wrong = { ...capture, sequences: [{ ...capture.sequences[0], keys: new Float32Array(3) }] };
    expect(() => encodeKvCapture(wrong)).toThrow(KvCaptureFormatError);
  });

  // Needs the real model files (stories260K); skipped where they are absent.
  it.skipIf(!existsSync(join(modelsDataDirectory(), "stories260K.bin")))("captures real post-RoPE q/k/v that reproduce the model's attention output", () => {
    const model = loadEvaluationModel("stories260K");
    const tokens = tinyStoriesSequences(model, 1, 1)[0].slice(0, 20);
    const capture = decodeKvCapture(encodeKvCapture(captureKv(model, [{ source: "tinystories:1", tokens }])));
    const { layers, heads, kvHeads, headDim } = capture.shape;
    expect(capture.shape).toEqual({ layers: 5, heads: 8, kvHeads: 4, headDim: 8 }); // stories260K config (SOURCES.md checkpoint header)
    const sequence = capture.sequences[0];
    const length = tokens.length;

    // Rerun the model, record its own attention outputs, and recompute them from the captured arrays.
    const outputs = new Float32Array(layers * length * heads * headDim);
    model.runtime.observer = {
      onLayer(activations) {
        outputs.set(activations.attentionOutput, (activations.layer * length + activations.position) * heads * headDim);
      },
    };
    try {
      const dense = createDenseCache(model.runtime, length);
      tokens.forEach((token, position) => model.runtime.forward(token, position, dense));
    } finally {
      model.runtime.observer = undefined;
    }
    let worst = 0;
    for (let layer = 0; layer < layers; layer++) {
      for (const position of [0, 7, length - 1]) {
        for (let head = 0; head < heads; head++) {
          const kvHead = Math.floor(head / (heads / kvHeads));
          const query = capturedOffset(heads, headDim, length, layer, head, position);
          const logits = new Float64Array(position + 1);
          for (let row = 0; row <= position; row++) {
            const key = capturedOffset(kvHeads, headDim, length, layer, kvHead, row);
            let dot = 0;
            for (let column = 0; column < headDim; column++) dot += sequence.queries[query + column] * sequence.keys[key + column];
            logits[row] = dot / Math.sqrt(headDim);
          }
          const maximum = Math.max(...logits);
          const weights = logits.map((logit) => Math.exp(logit - maximum));
          const sum = weights.reduce((total, weight) => total + weight, 0);
          for (let column = 0; column < headDim; column++) {
            let expected = 0;
            for (let row = 0; row <= position; row++) expected += (weights[row] / sum) * sequence.values[capturedOffset(kvHeads, headDim, length, layer, kvHead, row) + column];
            const actual = outputs[((layer * length + position) * heads + head) * headDim + column];
            worst = Math.max(worst, Math.abs(actual - expected) / (1 + Math.abs(expected)));
          }
        }
      }
    }
    // The runtime attends in float32; recomputing in float64 from the same captured floats differs by rounding only.
    expect(worst).toBeLessThan(1e-4);
  });
});
