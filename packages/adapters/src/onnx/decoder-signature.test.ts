import type { InferenceSession } from "onnxruntime-common";
import { describe, expect, it } from "vitest";
import { readDecoderSignature } from "./decoder-signature.js";
import { OnnxDecoderError } from "./onnx-decoder-error.js";

type ValueMetadata = InferenceSession.ValueMetadata;

const tensor = (name: string, type: "int64" | "float32" | "float16" | "bool", shape: (number | string)[]): ValueMetadata => ({ name, isTensor: true, type, shape });

/** Metadata shaped like a Hugging Face Optimum decoder-with-past export (here: 2 layers, 4 KV heads × 8). */
function optimumLayout(layers: number, kvHeads: number | string, headDim: number | string, vocab: number | string = 512) {
  const inputs: ValueMetadata[] = [
    tensor("input_ids", "int64", ["batch_size", "sequence_length"]),
    tensor("attention_mask", "int64", ["batch_size", "total_sequence_length"]),
    tensor("position_ids", "int64", ["batch_size", "sequence_length"]),
  ];
  const outputs: ValueMetadata[] = [tensor("logits", "float32", ["batch_size", "sequence_length", vocab])];
  for (let layer = 0; layer < layers; layer++) {
    for (const kind of ["key", "value"]) {
      inputs.push(tensor(`past_key_values.${layer}.${kind}`, "float32", ["batch_size", kvHeads, "past_sequence_length", headDim]));
      outputs.push(tensor(`present.${layer}.${kind}`, "float32", ["batch_size", kvHeads, "total_sequence_length", headDim]));
    }
  }
  return { inputs, outputs };
}

function thrown(run: () => unknown): OnnxDecoderError {
  try {
    run();
  } catch (error) {
    if (OnnxDecoderError.isInstance(error)) return error;
    throw error;
  }
  throw new Error("expected an OnnxDecoderError");
}

describe("readDecoderSignature", () => {
  it("derives layers, KV heads, head size and vocabulary from the declared shapes", () => {
    const { inputs, outputs } = optimumLayout(5, 4, 8);
    expect(readDecoderSignature(inputs, outputs)).toEqual({ layers: 5, kvHeads: 4, headDim: 8, vocabSize: 512, hasPositionIds: true, hasUseCacheBranch: false, hasNumLogitsToKeep: false, pastType: "float32", logitsType: "float32" });
  });

  it("accepts models without position_ids and with a symbolic vocabulary", () => {
    const { inputs, outputs } = optimumLayout(2, 4, 8, "vocab_size");
    const signature = readDecoderSignature(inputs.filter((item) => item.name !== "position_ids"), outputs);
    expect(signature.hasPositionIds).toBe(false);
    expect(signature.vocabSize).toBeUndefined();
  });

  it("recognizes the use_cache_branch input of Optimum merged decoders", () => {
    const { inputs, outputs } = optimumLayout(2, 4, 8);
    expect(readDecoderSignature([...inputs, tensor("use_cache_branch", "bool", [1])], outputs).hasUseCacheBranch).toBe(true);
    const wrongType = [...inputs, tensor("use_cache_branch", "int64", [1])];
    expect(thrown(() => readDecoderSignature(wrongType, outputs)).message).toContain('"use_cache_branch" must be bool');
  });

  it("names the missing input and lists the ones the model has", () => {
    const { inputs, outputs } = optimumLayout(2, 4, 8);
    const error = thrown(() => readDecoderSignature(inputs.filter((item) => item.name !== "attention_mask"), outputs));
    expect(error.code).toBe("missing-input");
    expect(error.message).toContain('no input "attention_mask"');
    expect(error.message).toContain("input_ids, position_ids, past_key_values.0.key");
  });

  it("rejects a decoder without past_key_values, a gap in the layers and a missing present output", () => {
    const { inputs, outputs } = optimumLayout(3, 4, 8);
    const withoutPast = thrown(() => readDecoderSignature(inputs.filter((item) => !item.name.startsWith("past_key_values")), outputs));
    expect(withoutPast.code).toBe("missing-input");
    expect(withoutPast.message).toContain("decoder *with past*");
    const gap = thrown(() => readDecoderSignature(inputs.filter((item) => !item.name.startsWith("past_key_values.1.")), outputs));
    expect(gap.message).toContain('no input "past_key_values.1.key"');
    const noPresent = thrown(() => readDecoderSignature(inputs, outputs.filter((item) => item.name !== "present.2.value")));
    expect(noPresent.code).toBe("missing-output");
  });

  it("rejects wrong element types and ranks", () => {
    const { inputs, outputs } = optimumLayout(1, 4, 8);
    const int32Ids = inputs.map((item) => (item.name === "input_ids" ? tensor("input_ids", "float32", ["b", "s"]) : item));
    expect(thrown(() => readDecoderSignature(int32Ids, outputs)).message).toContain('"input_ids" must be int64');
    const rank3 = inputs.map((item) => (item.name === "past_key_values.0.key" ? tensor(item.name, "float32", ["b", 4, 8]) : item));
    expect(thrown(() => readDecoderSignature(rank3, outputs)).code).toBe("bad-signature");
  });

  it("needs overrides for symbolic KV heads / head size, and checks them against declared numbers", () => {
    const symbolic = optimumLayout(2, "num_kv_heads", "head_dim");
    expect(thrown(() => readDecoderSignature(symbolic.inputs, symbolic.outputs)).message).toContain("pass kvHeads in the options");
    expect(readDecoderSignature(symbolic.inputs, symbolic.outputs, { kvHeads: 2, headDim: 16 })).toMatchObject({ kvHeads: 2, headDim: 16 });
    const fixed = optimumLayout(2, 4, 8);
    expect(thrown(() => readDecoderSignature(fixed.inputs, fixed.outputs, { kvHeads: 2 })).message).toContain("contradicts the model");
  });

  it("reads a transformers.js fp16 export: float16 past / present / logits and num_logits_to_keep", () => {
    const { inputs, outputs } = optimumLayout(2, 4, 8);
    const half = (items: ValueMetadata[]) => items.map((item) => (item.isTensor && item.type === "float32" ? { ...item, type: "float16" as const } : item));
    const signature = readDecoderSignature([...half(inputs), tensor("num_logits_to_keep", "int64", [])], half(outputs));
    expect(signature).toMatchObject({ layers: 2, kvHeads: 4, headDim: 8, pastType: "float16", logitsType: "float16", hasNumLogitsToKeep: true });
    // Every past / present tensor must have the first layer's type.
    const mixed = half(inputs).map((item) => (item.name === "past_key_values.1.value" ? { ...item, type: "float32" as const } : item));
    expect(thrown(() => readDecoderSignature(mixed, half(outputs))).message).toMatch(/past_key_values\.1\.value" must be float16, the model declares float32/);
  });
});
