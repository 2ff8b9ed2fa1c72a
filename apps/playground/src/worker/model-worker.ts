import { KernelLlamaRuntime, ResidentLlamaWeights, type Tokenizer } from "@kvpack/adapters";
import { DenseKVCache, type KVCacheShape } from "@kvpack/cache";
import { createCompressedCache, memoryReportFor } from "../engine/compressed-cache.js";
import { compressionLabel, type CompressionSettings } from "../engine/compression-settings.js";
import { generateSideBySide, type StepModel } from "../engine/dual-generation.js";
import { frontierEntries, frontierSweep, measureFrontierPoint, type FrontierMeasurement } from "../engine/frontier.js";
import { resolvePlaygroundBackend, type PlaygroundBackend } from "../engine/kernel-backend.js";
import { KVCapture } from "../engine/kv-capture.js";
import { classifyModelFile, folderName, loadFolder, loadGguf, loadLlama2c, parameterCount, type LoadedModel, type NamedBytes } from "../engine/model-loader.js";
import { loadOnnxFolderModel, loadOnnxModel, onnxStepModel, type LoadedOnnxModel } from "../engine/onnx-model.js";
import { PlaygroundError, toPlainError } from "../engine/plain-error.js";
import { replayCapture, type ReplayResult } from "../engine/replay.js";
import type { BackendName, FolderFile, ModelInfo, TaskName, WorkerRequest, WorkerResponse } from "./protocol.js";

/** The parts of the dedicated worker scope used here (the DOM lib, not the WebWorker lib, is loaded). */
interface WorkerScope {
  readonly location: Location;
  postMessage(message: WorkerResponse, transfer: Transferable[]): void;
  addEventListener(type: "message", listener: (event: MessageEvent<WorkerRequest>) => void): void;
}

const scope = self as unknown as WorkerScope;

function post(message: WorkerResponse, transfer: Transferable[] = []): void {
  scope.postMessage(message, transfer);
}

function progress(task: TaskName, done: number, total: number, label: string): void {
  post({ type: "progress", task, done, total, label });
}

/** Lets queued messages (such as "stop") run between heavy steps. */
const yieldToEvents = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** A Llama model run by the kvpack runtime on the kernel backend: queries are visible, so every panel works. */
interface LlamaSession {
  readonly kind: "llama";
  readonly model: LoadedModel;
  /** The weights on the kernel backend (GPU buffers or WASM memory). */
  readonly resident: ResidentLlamaWeights;
  /** The runtime's cache shape: layers, KV heads, head size and, for Gemma 2, the sliding-window layers (layerWindows). */
  readonly shape: KVCacheShape;
  readonly heads: number;
  readonly tokenizer: Tokenizer;
  readonly maxSequenceLength: number;
}

/** An ONNX decoder run by ONNX Runtime Web: attention happens inside the graph, so only text and memory. */
interface OnnxSession {
  readonly kind: "onnx";
  readonly model: LoadedOnnxModel;
  readonly shape: KVCacheShape;
  readonly tokenizer: Tokenizer;
  readonly maxSequenceLength: number;
}

type Session = LlamaSession | OnnxSession;

interface LastRun {
  /** Dense run's captured queries, keys, values and outputs (Llama sessions only). */
  readonly capture: KVCapture | undefined;
  /** Dense cache of the last run (ONNX sessions replay its keys and values for the memory panel). */
  readonly denseCache: DenseKVCache;
  replay: ReplayResult | undefined;
  sweep: FrontierMeasurement[] | undefined;
  /** Sweep settings this build could not measure, with the reason. */
  skipped: string[];
}

/** ONNX decoders exported from llama2.c models have no stated limit; this keeps a run's caches small. */
const onnxContextLimit = 2048;

let backend: PlaygroundBackend | undefined;
let session: Session | undefined;
let lastRun: LastRun | undefined;
let abort: AbortController | undefined;
let attentionSelection = { layer: 0, head: 0 };
let bundledTokenizer: NamedBytes | undefined;

async function fetchBytes(name: string): Promise<NamedBytes | undefined> {
  const response = await fetch(new URL(`${import.meta.env.BASE_URL}models/${name}`, scope.location.origin));
  if (!response.ok) return undefined;
  return { name, bytes: await response.arrayBuffer() };
}

async function replaceSession(next: Session, info: ModelInfo): Promise<void> {
  const previous = session;
  session = next;
  lastRun = undefined;
  if (previous?.kind === "llama") previous.resident.dispose();
  if (previous?.kind === "onnx") await previous.model.decoder.release();
  post({ type: "model", info });
}

/** The kvpack runtime on the resident weights, run as the model's description says (llama2.c models have none: plain Llama). */
function runtimeFor(resident: ResidentLlamaWeights, model: LoadedModel, observer?: KVCapture): { runtime: KernelLlamaRuntime; shape: KVCacheShape } {
  // Norms, RoPE and SwiGLU are a few hundred floats: on the CPU they save a GPU round trip each.
  const runtime = new KernelLlamaRuntime(resident, {
    vectorKernels: "host",
    ...(observer ? { observer } : {}),
    ...(model.description ? { description: model.description } : {}),
  });
  return { runtime, shape: runtime.cacheShape };
}

async function useLlamaModel(model: LoadedModel): Promise<void> {
  const config = model.weights.config;
  if (!backend) throw new PlaygroundError("The compute backend has not started yet; reload the page.");
  const resident = new ResidentLlamaWeights(backend.kernels, model.weights);
  // The runtime built from the model's description says which cache it appends to (Gemma 2's windows included).
  const { shape } = runtimeFor(resident, model);
  await replaceSession(
    { kind: "llama", model, resident, shape, heads: config.heads, tokenizer: model.tokenizer, maxSequenceLength: config.maxSequenceLength },
    {
      name: model.name,
      format: model.format,
      architecture: model.description?.architecture ?? "llama",
      layers: config.layers,
      heads: config.heads,
      kvHeads: config.kvHeads,
      headDim: config.headDim,
      vocabSize: config.vocabSize,
      maxSequenceLength: config.maxSequenceLength,
      parameters: parameterCount(model.weights),
    },
  );
}

async function useOnnxModel(model: LoadedOnnxModel): Promise<void> {
  const { decoder } = model;
  const shape = { layers: decoder.layers, kvHeads: decoder.kvHeads, headDim: decoder.headDim };
  await replaceSession(
    { kind: "onnx", model, shape, tokenizer: model.tokenizer, maxSequenceLength: onnxContextLimit },
    {
      name: model.name,
      format: "onnx",
      architecture: "onnx-decoder",
      layers: decoder.layers,
      heads: 0,
      kvHeads: decoder.kvHeads,
      headDim: decoder.headDim,
      vocabSize: model.vocabSize,
      maxSequenceLength: onnxContextLimit,
      parameters: 0,
    },
  );
}

async function loadBundled(): Promise<void> {
  progress("load", 0, 1, "Downloading stories260K…");
  const [checkpoint, tokenizer] = await Promise.all([fetchBytes("stories260K.bin"), fetchBytes("tok512.bin")]);
  if (!checkpoint || !tokenizer) {
    post({ type: "no-bundled-model" });
    return;
  }
  bundledTokenizer = tokenizer;
  await useLlamaModel(loadLlama2c(checkpoint, tokenizer));
}

async function loadFiles(files: readonly NamedBytes[]): Promise<void> {
  progress("load", 0, 1, `Reading ${files.map((file) => file.name).join(", ")}…`);
  const kinds = files.map((file) => classifyModelFile(file));
  const find = (kind: string) => files.find((_, index) => kinds[index] === kind);
  const tokenizer = find("llama2c-tokenizer");
  const gguf = find("gguf");
  if (gguf) {
    progress("load", 1, 3, `Parsing ${gguf.name}: metadata, tokenizer, tensors…`);
    const model = loadGguf(gguf);
    progress("load", 2, 3, `Uploading ${model.name}'s weights to the ${backend?.info.name ?? "compute"} backend…`);
    return useLlamaModel(model);
  }
  bundledTokenizer ??= await fetchBytes("tok512.bin");
  const onnx = find("onnx");
  if (onnx) {
    progress("load", 0, 1, "Starting ONNX Runtime (WASM)…");
    return useOnnxModel(await loadOnnxModel(onnx, tokenizer, bundledTokenizer));
  }
  const checkpoint = find("llama2c-checkpoint");
  if (!checkpoint) throw new PlaygroundError("Only a tokenizer file was given. Drop the model checkpoint (.bin) too.");
  await useLlamaModel(loadLlama2c(checkpoint, tokenizer, bundledTokenizer));
}

async function loadFolderFiles(files: readonly FolderFile[]): Promise<void> {
  const name = folderName(files.map((file) => file.path));
  progress("load", 1, 3, `Parsing ${name}: config.json, tokenizer.json, weights…`);
  const loaded = await loadFolder(files);
  if (loaded.kind === "onnx") {
    progress("load", 2, 3, `Starting ONNX Runtime (WASM) for ${name}'s ONNX decoder…`);
    return useOnnxModel(await loadOnnxFolderModel(loaded.name, loaded.folder, loaded.bytes));
  }
  progress("load", 2, 3, `Uploading ${loaded.model.name}'s weights to the ${backend?.info.name ?? "compute"} backend…`);
  await useLlamaModel(loaded.model);
}

function requireSession(): Session {
  if (!session) throw new PlaygroundError("No model is loaded yet. Load stories260K or drop a model file first.");
  return session;
}

async function runGeneration(request: Extract<WorkerRequest, { type: "generate" }>): Promise<void> {
  const current = requireSession();
  const { shape, tokenizer } = current;
  const { sampling, compression } = request;
  const promptIds = tokenizer.encode(request.prompt, { bos: current.model.addBos });
  const totalPositions = Math.min(sampling.steps + 1, current.maxSequenceLength);
  const maxTokens = totalPositions - promptIds.length;
  if (maxTokens < 1) {
    throw new PlaygroundError(`The prompt already uses ${promptIds.length} of the ${totalPositions} positions; raise Steps above ${promptIds.length - 1} or shorten the prompt.`);
  }
  const compressedCache = createCompressedCache(shape, compression);
  const denseCache = new DenseKVCache({ ...shape, capacity: totalPositions });
  let capture: KVCapture | undefined;
  let denseModel: StepModel;
  let compressedModel: StepModel;
  if (current.kind === "llama") {
    capture = new KVCapture({ ...shape, heads: current.heads, capacity: totalPositions });
    denseModel = runtimeFor(current.resident, current.model, capture).runtime;
    compressedModel = runtimeFor(current.resident, current.model).runtime;
  } else {
    denseModel = compressedModel = onnxStepModel(current.model);
  }
  abort = new AbortController();
  const started = performance.now();
  let generated = 0;
  const result = await generateSideBySide(
    tokenizer,
    { model: denseModel, cache: denseCache },
    { model: compressedModel, cache: compressedCache },
    {
      promptIds,
      maxTokens,
      temperature: sampling.temperature,
      topK: sampling.topK,
      topP: sampling.topP,
      seed: sampling.seed,
      stopTokenIds: tokenizer.stopTokenIds,
      signal: abort.signal,
      yieldToEvents,
      onStep: (step) => {
        if (step.index >= 0) generated = step.index + 1;
        post({ type: "tokens", dense: step.dense, compressed: step.compressed, position: promptIds.length + generated });
        if (step.index >= 0) progress("generate", generated, maxTokens, `Generating token ${generated} of up to ${maxTokens}…`);
      },
    },
  );
  abort = undefined;
  const seconds = (performance.now() - started) / 1000;
  lastRun = { capture, denseCache, replay: undefined, sweep: undefined, skipped: [] };
  post({
    type: "generation-done",
    denseText: result.denseText,
    compressedText: result.compressedText,
    tokens: Math.max(result.denseTokens.length, result.compressedTokens.length),
    tokensPerSecond: seconds > 0 ? (result.denseTokens.length + result.compressedTokens.length) / seconds : 0,
    firstDivergence: result.firstDivergence,
    stopped: result.stopped,
  });
  applyCompression(compression);
}

/** Re-encodes the last dense run's KV with the settings and posts the memory report. */
function applyCompression(settings: CompressionSettings): void {
  const { shape } = requireSession();
  const run = lastRun;
  if (!run) return;
  const cache = createCompressedCache(shape, settings);
  let tokens: number;
  if (run.capture) {
    run.replay = replayCapture(run.capture, cache);
    tokens = run.capture.length;
  } else {
    // No queries to attend with (ONNX): append the dense keys and values, token by token.
    tokens = run.denseCache.length(0);
    const stride = shape.kvHeads * shape.headDim;
    const keys = new Float32Array(tokens * stride);
    const values = new Float32Array(tokens * stride);
    const tokenKeys = new Float32Array(stride);
    const tokenValues = new Float32Array(stride);
    for (let layer = 0; layer < shape.layers; layer++) {
      run.denseCache.readLayer(layer, keys, values);
      for (let position = 0; position < tokens; position++) {
        for (let kvHead = 0; kvHead < shape.kvHeads; kvHead++) {
          const from = (kvHead * tokens + position) * shape.headDim;
          tokenKeys.set(keys.subarray(from, from + shape.headDim), kvHead * shape.headDim);
          tokenValues.set(values.subarray(from, from + shape.headDim), kvHead * shape.headDim);
        }
        cache.append(layer, tokenKeys, tokenValues);
      }
    }
  }
  post({ type: "memory", report: memoryReportFor(cache.memoryReport(), settings, shape, tokens) });
}

function postAttention(): void {
  if (!lastRun?.capture || !lastRun.replay) return;
  const { layer, head } = attentionSelection;
  const dense = lastRun.capture.attentionMatrix(layer, head);
  const compressed = lastRun.replay.capture.attentionMatrix(layer, head);
  post({ type: "attention", layer, head, length: lastRun.capture.length, dense, compressed }, [dense.buffer, compressed.buffer]);
}

async function runFrontier(settings: CompressionSettings): Promise<void> {
  const { shape } = requireSession();
  const run = lastRun;
  if (!run) throw new PlaygroundError("Generate some text first: the frontier is measured on the keys and values of that run.");
  const capture = run.capture;
  if (!capture) {
    post({ type: "unavailable", panel: "frontier", reason: "ONNX Runtime computes attention inside the model, so the queries the frontier needs are not visible. Use a llama2.c or GGUF model for the frontier and heatmaps." });
    return;
  }
  if (!run.sweep) {
    const grid = frontierSweep(shape.headDim);
    const sweep: FrontierMeasurement[] = [];
    for (const [index, point] of grid.entries()) {
      progress("frontier", index, grid.length, `Frontier: measuring ${index + 1} of ${grid.length} codec settings…`);
      await yieldToEvents();
      if (lastRun !== run) return;
      try {
        sweep.push(measureFrontierPoint(capture, shape, point));
      } catch (error) {
        // A codec this build cannot make is left off the plot, and the page says which.
        run.skipped.push(`${compressionLabel(point)}: ${toPlainError(error).detail}`);
      }
    }
    run.sweep = sweep;
  }
  let current: FrontierMeasurement | undefined;
  let currentError: unknown;
  try {
    current = measureFrontierPoint(capture, shape, settings);
  } catch (error) {
    currentError = error;
  }
  progress("frontier", 1, 1, "Frontier ready");
  post({ type: "frontier", entries: frontierEntries(run.sweep, current), tokens: capture.length, skipped: run.skipped });
  if (currentError) throw currentError;
}

async function handle(request: WorkerRequest): Promise<void> {
  switch (request.type) {
    case "init": {
      backend = await resolvePlaygroundBackend(request.backends as BackendName[]);
      post({ type: "ready", backend: backend.info });
      return;
    }
    case "load-bundled":
      return loadBundled();
    case "load-files":
      return loadFiles(request.files);
    case "load-folder":
      return loadFolderFiles(request.files);
    case "generate":
      return runGeneration(request);
    case "stop":
      abort?.abort();
      return;
    case "compression":
      applyCompression(request.compression);
      postAttention();
      if (lastRun?.sweep) await runFrontier(request.compression);
      return;
    case "frontier":
      return runFrontier(request.compression);
    case "attention":
      attentionSelection = { layer: request.layer, head: request.head };
      postAttention();
      return;
    case "codebook":
      throw new PlaygroundError("Codebooks are built by the codebook worker.");
  }
}

const taskOf: Record<WorkerRequest["type"], TaskName> = {
  init: "init",
  "load-bundled": "load",
  "load-files": "load",
  "load-folder": "load",
  generate: "generate",
  stop: "generate",
  compression: "compression",
  frontier: "frontier",
  attention: "attention",
  codebook: "codebook",
};

// Requests run one at a time in arrival order, except "stop", which must reach a running generation.
let queue: Promise<void> = Promise.resolve();
scope.addEventListener("message", (event: MessageEvent<WorkerRequest>) => {
  const request = event.data;
  const run = async () => {
    try {
      await handle(request);
    } catch (error) {
      const plain = toPlainError(error);
      post({ type: "error", task: taskOf[request.type], message: plain.message, detail: plain.detail });
    }
  };
  if (request.type === "stop") void run();
  else queue = queue.then(run);
});
