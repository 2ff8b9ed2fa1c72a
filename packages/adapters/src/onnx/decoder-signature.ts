import type { InferenceSession } from "onnxruntime-common";
import { OnnxDecoderError } from "./onnx-decoder-error.js";

/**
 * What the adapter learns from a decoder-with-past model's inputs and outputs (Hugging Face
 * Optimum / transformers.js layout): input_ids, attention_mask, optional position_ids,
 * past_key_values.N.key/.value [batch, kvHeads, past, headDim] in float32 or float16 (and
 * use_cache_branch in merged exports, num_logits_to_keep in transformers.js exports) → logits
 * [batch, seq, vocab], present.N.key/.value.
 */
export interface DecoderSignature {
  readonly layers: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** From the logits shape; undefined when that dimension is symbolic (known after the first run). */
  readonly vocabSize: number | undefined;
  /** Whether the model takes position_ids (some exports derive positions from the mask). */
  readonly hasPositionIds: boolean;
  /** Whether the model is an Optimum "merged" decoder with a use_cache_branch bool input. */
  readonly hasUseCacheBranch: boolean;
  /** Whether the model takes transformers.js' scalar int64 num_logits_to_keep (the adapter passes 0: every position). */
  readonly hasNumLogitsToKeep: boolean;
  /** Element type of past_key_values / present (fp16 exports: "float16"; converted at the boundary, the cache holds float32). */
  readonly pastType: "float32" | "float16";
  /** Element type of logits (returned as float32 either way). */
  readonly logitsType: "float32" | "float16";
}

/** Dimensions to use where the model declares them symbolically. */
export interface DecoderSignatureOverrides {
  readonly kvHeads?: number;
  readonly headDim?: number;
}

type ValueMetadata = InferenceSession.ValueMetadata;

const pastPattern = /^past_key_values\.(\d+)\.(key|value)$/;

function describe(names: readonly string[]): string {
  return names.length === 0 ? "none" : names.join(", ");
}

function requireTensor(metadata: readonly ValueMetadata[], name: string, kind: "input" | "output", type: string | readonly string[], rank: number): readonly (number | string)[] {
  const entry = metadata.find((item) => item.name === name);
  if (!entry) {
    const names = metadata.map((item) => item.name);
    throw new OnnxDecoderError(
      kind === "input" ? "missing-input" : "missing-output",
      `ONNX decoder: the model has no ${kind} "${name}" (its ${kind}s: ${describe(names)}); expected a decoder-with-past model in the Hugging Face Optimum layout`,
    );
  }
  if (!entry.isTensor) throw new OnnxDecoderError("bad-signature", `ONNX decoder: ${kind} "${name}" must be a tensor`);
  const types = typeof type === "string" ? [type] : type;
  if (!types.includes(entry.type)) throw new OnnxDecoderError("bad-signature", `ONNX decoder: ${kind} "${name}" must be ${types.join(" or ")}, the model declares ${entry.type}`);
  // An empty shape means "not declared": accept it and rely on overrides or the first run.
  if (entry.shape.length !== 0 && entry.shape.length !== rank) {
    throw new OnnxDecoderError("bad-signature", `ONNX decoder: ${kind} "${name}" must have rank ${rank}, the model declares [${entry.shape.join(", ")}]`);
  }
  return entry.shape;
}

function resolveDimension(declared: number | string | undefined, override: number | undefined, what: string, where: string): number {
  if (override !== undefined) {
    if (!(Number.isInteger(override) && override > 0)) throw new OnnxDecoderError("bad-argument", `ONNX decoder: ${what} override must be a positive integer, got ${override}`);
    if (typeof declared === "number" && declared !== override) {
      throw new OnnxDecoderError("bad-argument", `ONNX decoder: ${what} override ${override} contradicts the model (${where} declares ${declared})`);
    }
    return override;
  }
  if (typeof declared === "number" && declared > 0) return declared;
  throw new OnnxDecoderError(
    "bad-signature",
    `ONNX decoder: ${where} declares ${what} as ${declared === undefined ? "unknown" : `symbolic "${declared}"`}; pass ${what} in the options`,
  );
}

/** Reads layers, KV heads and head size from the model's declared inputs and outputs. */
export function readDecoderSignature(
  inputs: readonly ValueMetadata[],
  outputs: readonly ValueMetadata[],
  overrides: DecoderSignatureOverrides = {},
): DecoderSignature {
  requireTensor(inputs, "input_ids", "input", "int64", 2);
  requireTensor(inputs, "attention_mask", "input", "int64", 2);
  const hasPositionIds = inputs.some((item) => item.name === "position_ids");
  if (hasPositionIds) requireTensor(inputs, "position_ids", "input", "int64", 2);
  const hasUseCacheBranch = inputs.some((item) => item.name === "use_cache_branch");
  if (hasUseCacheBranch) requireTensor(inputs, "use_cache_branch", "input", "bool", 1);
  const hasNumLogitsToKeep = inputs.some((item) => item.name === "num_logits_to_keep");
  if (hasNumLogitsToKeep) requireTensor(inputs, "num_logits_to_keep", "input", "int64", 0);
  const typeOf = (metadata: readonly ValueMetadata[], name: string): string | undefined => {
    const entry = metadata.find((item) => item.name === name);
    return entry?.isTensor ? entry.type : undefined;
  };
  const pastType = typeOf(inputs, "past_key_values.0.key") === "float16" ? "float16" : "float32";

  const layerIndices = new Set<number>();
  for (const item of inputs) {
    const match = pastPattern.exec(item.name);
    if (match) layerIndices.add(Number(match[1]));
  }
  if (layerIndices.size === 0) {
    throw new OnnxDecoderError(
      "missing-input",
      `ONNX decoder: the model has no past_key_values.N.key / .value inputs (its inputs: ${describe(inputs.map((item) => item.name))}); export it as a decoder *with past*`,
    );
  }
  const layers = layerIndices.size;
  // Layers must be numbered 0..layers-1 with both key and value, and matching present outputs.
  let kvHeads: number | undefined;
  let headDim: number | undefined;
  for (let layer = 0; layer < layers; layer++) {
    for (const kind of ["key", "value"] as const) {
      const pastName = `past_key_values.${layer}.${kind}`;
      // One element type for every past and present tensor: the first layer's.
      const pastShape = requireTensor(inputs, pastName, "input", pastType, 4);
      const presentShape = requireTensor(outputs, `present.${layer}.${kind}`, "output", pastType, 4);
      const layerKvHeads = resolveDimension(pastShape[1] ?? presentShape[1], overrides.kvHeads, "kvHeads", `${pastName} [batch, kvHeads, past, headDim]`);
      const layerHeadDim = resolveDimension(pastShape[3] ?? presentShape[3], overrides.headDim, "headDim", `${pastName} [batch, kvHeads, past, headDim]`);
      if ((kvHeads !== undefined && kvHeads !== layerKvHeads) || (headDim !== undefined && headDim !== layerHeadDim)) {
        throw new OnnxDecoderError("bad-signature", `ONNX decoder: ${pastName} has ${layerKvHeads} heads × ${layerHeadDim}, other layers ${kvHeads} × ${headDim}; the cache needs one shape`);
      }
      kvHeads = layerKvHeads;
      headDim = layerHeadDim;
    }
  }
  const logitsShape = requireTensor(outputs, "logits", "output", ["float32", "float16"], 3);
  const logitsType = typeOf(outputs, "logits") === "float16" ? "float16" : "float32";
  const vocabSize = typeof logitsShape[2] === "number" && logitsShape[2] > 0 ? logitsShape[2] : undefined;
  return { layers, kvHeads: kvHeads as number, headDim: headDim as number, vocabSize, hasPositionIds, hasUseCacheBranch, hasNumLogitsToKeep, pastType, logitsType };
}
