import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  createModelFolderRuntime,
  createOnnxDecoder,
  loadLlama2cCheckpoint,
  loadLlama2cTokenizer,
  loadModelFolder,
  loadOnnxRuntimeNode,
  gpt2TokenizerJson,
  loadGpt2Tokenizer,
  SeededRandom,
  sentencePieceTokenizerJson,
  writeSafetensorsGpt2,
  type Gpt2Weights,
  type LanguageModelRuntime,
  type LlamaArchitecture,
  type LlamaModelDescription,
  type LlamaWeights,
  type OnnxExternalDataFile,
  type SentencePieceBpeTokenizer,
} from "@kvpack/adapters";
import { DenseKVCache } from "@kvpack/cache";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { exportGpt2DecoderOnnx } from "./gpt2-decoder-graph.js";
import { huggingFaceFolderFiles, onnxVariants, writeHuggingFaceFolder, type OnnxVariant } from "./hugging-face-folder.js";
import { maxAbsDifference, readModelsData } from "./test-support/models-data.js";
import { randomArchitectureModel } from "./test-support/random-architectures.js";
import { randomLlamaWeights } from "./test-support/random-llama.js";

// Hugging Face folders written by this tool, loaded by kvpack (loadModelFolder: the safetensors
// through LlamaRuntime, each onnx/ decoder through createOnnxDecoder over a DenseKVCache) and by
// transformers.js 4.3.1 (@huggingface/transformers, offline, onnxruntime-node CPU), 64 greedy tokens
// each. transformers.js only runs ONNX: the safetensors row compares kvpack's TypeScript runtime with
// transformers.js on onnx/model.onnx; the onnx rows run the same file in both.
// KVPACK_HF_CONFORMANCE_OUT=path writes the rows (pnpm --filter @kvpack/export-onnx conformance:hf).
const steps = 64;
// The prompts: "Once upon a time" with BOS in each case's tokenizer (the models' reference JSONs, prompt_token_ids).
const tok512Prompt = [1, 403, 407, 261, 378];
const output = process.env.KVPACK_HF_CONFORMANCE_OUT;

type Format = "safetensors" | "onnx-fp32" | "onnx-fp16" | "onnx-q4" | "onnx-q8";
// transformers.js dtype → file (hugging-face-folder.ts onnxVariants): q8 is onnx/model_quantized.onnx, INT8 weights → DequantizeLinear → MatMul.
const transformersDtype: Record<Format, OnnxVariant> = { safetensors: "fp32", "onnx-fp32": "fp32", "onnx-fp16": "fp16", "onnx-q4": "q4", "onnx-q8": "q8" };

// Tolerances on max |Δlogit| over the 64 steps and the vocabulary (logits of these models stay within ±20):
// - safetensors: kvpack's fp32 TypeScript runtime against ORT's fp32 graph — the same arithmetic in a
//   different summation order; fp32 rounding through ≤ 5 layers stays below 1e-4 (measured ≤ 2e-5).
// - onnx-*: the same graph and the same feeds in both (the dense cache gives back present exactly,
//   float16 ↔ float32 round trips are exact), so ORT computes the same numbers: tolerance 0. That holds
//   for q8 too: DequantizeLinear runs inside the graph on both sides, on the same INT8 initializers.
const tolerance: Record<Format, number> = { safetensors: 1e-4, "onnx-fp32": 0, "onnx-fp16": 0, "onnx-q4": 0, "onnx-q8": 0 };

interface Greedy {
  readonly ids: number[];
  readonly logits: Float32Array[];
}

function argmax(values: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  for (let i = 1; i < length; i++) if (values[offset + i] > values[offset + best]) best = i;
  return best;
}

function runtimeGreedy(runtime: LanguageModelRuntime, prompt: readonly number[]): Greedy {
  const cache = new DenseKVCache({ ...runtime.cacheShape, capacity: prompt.length + steps });
  const ids = [...prompt];
  const logits: Float32Array[] = [];
  let last = new Float32Array(0);
  for (const [position, token] of prompt.entries()) last = runtime.forward(token, position, cache).slice();
  for (let step = 0; step < steps; step++) {
    logits.push(last);
    ids.push(argmax(last, 0, last.length));
    if (step + 1 < steps) last = runtime.forward(ids[ids.length - 1], ids.length - 1, cache).slice();
  }
  return { ids, logits };
}

async function onnxGreedy(bytes: Uint8Array, externalData: readonly OnnxExternalDataFile[], vocabSize: number, prompt: readonly number[]): Promise<Greedy> {
  const decoder = await createOnnxDecoder({ ort: await loadOnnxRuntimeNode(), model: bytes, externalData });
  try {
    const cache = new DenseKVCache({ layers: decoder.layers, kvHeads: decoder.kvHeads, headDim: decoder.headDim, capacity: prompt.length + steps });
    const ids = [...prompt];
    const logits: Float32Array[] = [];
    let all = await decoder.forward(prompt, cache);
    for (let step = 0; step < steps; step++) {
      const last = all.slice(all.length - vocabSize);
      logits.push(last);
      ids.push(argmax(last, 0, vocabSize));
      if (step + 1 < steps) all = await decoder.forward([ids[ids.length - 1]], cache);
    }
    return { ids, logits };
  } finally {
    await decoder.release();
  }
}

type Transformers = typeof import("@huggingface/transformers");

/** transformers.js' own forward, past fed back as its present outputs (what its generate does), logits of every step. */
async function transformersGreedy(transformers: Transformers, model: Awaited<ReturnType<Transformers["AutoModelForCausalLM"]["from_pretrained"]>>, prompt: readonly number[]): Promise<Greedy> {
  const { Tensor } = transformers;
  const ids = [...prompt];
  const logits: Float32Array[] = [];
  let past: Record<string, unknown> | undefined;
  let input: readonly number[] = prompt;
  for (let step = 0; step < steps; step++) {
    const outputs = (await model({
      input_ids: new Tensor("int64", BigInt64Array.from(input, (id) => BigInt(id)), [1, input.length]),
      attention_mask: new Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]),
      ...(past ? { past_key_values: past } : {}),
    })) as Record<string, { data: ArrayLike<number>; dims: number[]; type: string }>;
    const vocab = outputs.logits.dims[2];
    const data = outputs.logits.data;
    const last = new Float32Array(vocab);
    const offset = data.length - vocab;
    if (outputs.logits.type === "float16") {
      const { float16BitsToNumber } = await import("@kvpack/adapters");
      for (let i = 0; i < vocab; i++) last[i] = float16BitsToNumber((data as Uint16Array)[offset + i]);
    } else for (let i = 0; i < vocab; i++) last[i] = data[offset + i];
    logits.push(last);
    const next = argmax(last, 0, vocab);
    ids.push(next);
    input = [next];
    past = Object.fromEntries(Object.entries(outputs).filter(([name]) => name.startsWith("present.")).map(([name, tensor]) => [name.replace("present.", "past_key_values."), tensor]));
  }
  return { ids, logits };
}

function piecesOf(tokenizer: SentencePieceBpeTokenizer) {
  return {
    pieces: Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.piece(id)),
    scores: Array.from({ length: tokenizer.vocabSize }, (_, id) => tokenizer.score(id)),
  };
}

interface Case {
  readonly name: string;
  readonly architecture?: LlamaArchitecture | "gpt2";
  /** Default: safetensors and the four ONNX variants. */
  readonly formats?: readonly Format[];
  readonly weights: () => LlamaWeights | LlamaModelDescription | Gpt2Weights;
  readonly tokenizer: string;
  readonly prompt: readonly number[];
  readonly config?: Record<string, unknown>;
}

const cases: Case[] = [
  { name: "stories260K", weights: () => loadLlama2cCheckpoint(readModelsData("stories260K.bin")), tokenizer: "tok512.bin", prompt: tok512Prompt },
  // BabyLlama: llama2.c's TinyStories model on the 105-piece tokenizer (babyllama-tok105-model5000.reference.json prompt_token_ids).
  { name: "babyllama", weights: () => loadLlama2cCheckpoint(readModelsData("babyllama-tok105-model5000.bin")), tokenizer: "tok105.bin", prompt: [1, 3, 34, 9, 22, 4, 3, 18, 20, 7, 9, 3, 5, 3, 6, 10, 16, 4] },
  {
    name: "random-llama3-rope",
    // GQA 4 / 2 with head_dim 16, an untied classifier, Llama 3 rope scaling whose original context (16) the 69 positions pass.
    weights: () => randomLlamaWeights({ dim: 64, hiddenDim: 96, layers: 2, heads: 4, kvHeads: 2, vocabSize: 512, maxSequenceLength: 128, headDim: 16, ropeTheta: 10000, normEpsilon: 1e-5, sharedClassifier: false }, 11),
    tokenizer: "tok512.bin",
    prompt: tok512Prompt,
    config: { rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
  },
  // The other architectures, random weights in their real head layouts (test-support/random-architectures.ts).
  ...(["qwen2", "qwen3", "phi3", "gemma2"] as const).map((architecture, index) => ({
    name: `random-${architecture}`,
    architecture,
    weights: () => randomArchitectureModel(architecture, 21 + index),
    tokenizer: "tok512.bin",
    prompt: tok512Prompt,
  })),
  // GPT-2: random weights, GPT-2's real vocabulary and tokenizer.json; fp32 ONNX only (gpt2-decoder-graph.ts).
  { name: "random-gpt2", architecture: "gpt2", formats: ["safetensors", "onnx-fp32"], weights: () => randomGpt2Weights(31), tokenizer: "gpt2", prompt: [] },
];

function randomGpt2Weights(seed: number): Gpt2Weights {
  const random = new SeededRandom(seed);
  const values = (count: number, scale: number, offset = 0) => Float32Array.from({ length: count }, () => offset + scale * (2 * random.nextFloat() - 1));
  const [dim, hiddenDim, vocabSize, maxSequenceLength] = [32, 128, 50257, 128];
  const matrix = (rows: number, columns: number) => values(rows * columns, 1 / Math.sqrt(columns));
  return {
    config: { dim, hiddenDim, layers: 2, heads: 4, headDim: 8, vocabSize, maxSequenceLength, normEpsilon: 1e-5 },
    tokenEmbedding: values(vocabSize * dim, 1),
    positionEmbedding: values(maxSequenceLength * dim, 0.5),
    layers: Array.from({ length: 2 }, () => ({
      attentionNormWeight: values(dim, 0.1, 1), attentionNormBias: values(dim, 0.1), wq: matrix(dim, dim), wk: matrix(dim, dim), wv: matrix(dim, dim),
      bq: values(dim, 0.1), bk: values(dim, 0.1), bv: values(dim, 0.1), wo: matrix(dim, dim), bo: values(dim, 0.1), ffnNormWeight: values(dim, 0.1, 1), ffnNormBias: values(dim, 0.1),
      wUp: matrix(hiddenDim, dim), bUp: values(hiddenDim, 0.1), wDown: matrix(dim, hiddenDim), bDown: values(dim, 0.1),
    })),
    finalNormWeight: values(dim, 0.1, 1),
    finalNormBias: values(dim, 0.1),
  };
}

const gpt2Tokenizer = () => loadGpt2Tokenizer(readModelsData("gpt2-encoder.json"), readModelsData("gpt2-vocab.bpe"));
const promptOf = (testCase: Case): readonly number[] => (testCase.architecture === "gpt2" ? gpt2Tokenizer().encode("Once upon a time") : testCase.prompt);

interface Row {
  readonly model: string;
  readonly architecture: LlamaArchitecture | "gpt2";
  readonly format: Format;
  readonly steps: number;
  readonly sameTokens: boolean;
  readonly maxLogitDifference: number;
  readonly tolerance: number;
  /** The same format's logits (transformers.js) against kvpack's fp32 safetensors runtime: what fp16 / q4 / q8 cost; recorded, not asserted. */
  readonly maxLogitDifferenceFromSafetensors: number;
  readonly sameTokensAsSafetensors: boolean;
}

describe("Hugging Face folders from @kvpack/export-onnx: kvpack and transformers.js give the same greedy tokens and logits", () => {
  let directory: string;
  let transformers: Transformers;
  const rows: Row[] = [];
  // kvpack's safetensors run of each case, computed once (every row of the case compares with it).
  const references = new Map<string, Promise<Greedy>>();
  const referenceOf = (name: string, prompt: readonly number[]): Promise<Greedy> => {
    let reference = references.get(name);
    if (!reference) {
      reference = loadModelFolder(path.join(directory, name)).then((folder) => runtimeGreedy(createModelFolderRuntime(folder), prompt));
      references.set(name, reference);
    }
    return reference;
  };

  beforeAll(async () => {
    directory = mkdtempSync(path.join(tmpdir(), "kvpack-hf-conformance-"));
    for (const { name, weights, tokenizer, config, architecture } of cases) {
      if (architecture === "gpt2") {
        const model = weights() as Gpt2Weights;
        const checkpoint = writeSafetensorsGpt2(model);
        const encoder = JSON.parse(new TextDecoder().decode(readModelsData("gpt2-encoder.json"))) as Record<string, number>;
        const merges = new TextDecoder().decode(readModelsData("gpt2-vocab.bpe")).split("\n");
        const json = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
        await writeHuggingFaceFolder(path.join(directory, name), new Map([
          ["config.json", json(checkpoint.config)],
          ["generation_config.json", json({ bos_token_id: 50256, eos_token_id: 50256 })],
          ["tokenizer.json", json(gpt2TokenizerJson(encoder, merges))],
          ["tokenizer_config.json", json({ bos_token: "<|endoftext|>", eos_token: "<|endoftext|>", tokenizer_class: "GPT2Tokenizer" })],
          ["model.safetensors", checkpoint.file],
          ["onnx/model.onnx", exportGpt2DecoderOnnx(model, { numLogitsToKeep: true, modelName: name })],
        ]));
        continue;
      }
      const model = weights() as LlamaWeights | LlamaModelDescription;
      const vocabulary = loadLlama2cTokenizer(readModelsData(tokenizer), model.config.vocabSize);
      const files = huggingFaceFolderFiles(model, { tokenizerJson: sentencePieceTokenizerJson(piecesOf(vocabulary)), onnx: ["fp32", "fp16", "q4", "q8"], ...(config ? { config } : {}), modelName: name });
      await writeHuggingFaceFolder(path.join(directory, name), files);
    }
    transformers = await import("@huggingface/transformers");
    transformers.env.allowRemoteModels = false;
    transformers.env.localModelPath = `${directory}${path.sep}`;
  });

  afterAll(() => {
    if (output && rows.length > 0) {
      const results = {
        oracle: "@huggingface/transformers 4.3.1 (onnxruntime-node 1.30.0 CPU), offline",
        prompt: "\"Once upon a time\" with BOS in the model's tokenizer (its reference JSON's prompt_token_ids)",
        maxLogitDifference: "max over 64 greedy steps and the vocabulary of |Δ logit|, kvpack against transformers.js on the same folder and format",
        maxLogitDifferenceFromSafetensors: "transformers.js on this format against kvpack's fp32 safetensors runtime, each decoding its own greedy tokens: once the sequences part (q4, q8), later steps compare different contexts",
        rows,
      };
      writeFileSync(output, `${JSON.stringify(results, null, 2)}\n`);
    }
    rmSync(directory, { recursive: true, force: true });
  });

  describe.each(cases)("$name", (testCase) => {
    const { name, architecture = "llama" } = testCase;
    const prompt = promptOf(testCase);
    it.each(testCase.formats ?? (["safetensors", "onnx-fp32", "onnx-fp16", "onnx-q4", "onnx-q8"] as const))("%s", async (format) => {
      const dtype = transformersDtype[format];
      const model = await transformers.AutoModelForCausalLM.from_pretrained(name, { dtype, device: "cpu" });
      let theirs: Greedy;
      try {
        theirs = await transformersGreedy(transformers, model, prompt);
      } finally {
        await model.dispose();
      }
      const folderPath = path.join(directory, name);
      let ours: Greedy;
      if (format === "safetensors") {
        ours = await referenceOf(name, prompt);
      } else {
        const folder = await loadModelFolder(folderPath, { format: "onnx", onnxFile: onnxVariants[dtype].file });
        if (folder.weights.kind !== "onnx") throw new Error("expected the ONNX decoder");
        ours = await onnxGreedy(folder.weights.bytes, folder.weights.externalData, Number(folder.config.vocab_size), prompt);
      }
      const difference = Math.max(...ours.logits.map((logits, step) => maxAbsDifference(logits, theirs.logits[step])));
      const reference = await referenceOf(name, prompt);
      const fromSafetensors = Math.max(...reference.logits.map((logits, step) => maxAbsDifference(logits, theirs.logits[step])));
      rows.push({
        model: name,
        architecture,
        format,
        steps,
        sameTokens: ours.ids.join() === theirs.ids.join(),
        maxLogitDifference: Number(difference.toPrecision(3)),
        tolerance: tolerance[format],
        maxLogitDifferenceFromSafetensors: Number(fromSafetensors.toPrecision(3)),
        sameTokensAsSafetensors: reference.ids.join() === theirs.ids.join(),
      });
      console.log(`${name} ${format}: same tokens ${ours.ids.join() === theirs.ids.join()}, max |Δlogit| ${difference.toExponential(2)}`);
      expect(ours.ids).toEqual(theirs.ids);
      expect(difference).toBeLessThanOrEqual(tolerance[format]);
    }, 60_000);
  });

  it("transformers.js generate() on stories260K gives the greedy tokens of the forward loop (the reference's greedy ids)", async () => {
    const model = await transformers.AutoModelForCausalLM.from_pretrained("stories260K", { dtype: "fp32", device: "cpu" });
    const prompt = tok512Prompt;
    try {
      const input = new transformers.Tensor("int64", BigInt64Array.from(prompt, (id) => BigInt(id)), [1, prompt.length]);
      const generated = (await model.generate({ input_ids: input, attention_mask: new transformers.Tensor("int64", new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]), max_new_tokens: steps, do_sample: false })) as { tolist(): bigint[][] };
      const ids = generated.tolist()[0].map(Number);
      const ours = (await referenceOf("stories260K", prompt)).ids;
      // generate stops at EOS (</s>, generation_config.json); the forward loop does not.
      expect(ids.length).toBeGreaterThan(prompt.length + 16);
      expect(ids).toEqual(ours.slice(0, ids.length));
    } finally {
      await model.dispose();
    }
  }, 60_000);
});
