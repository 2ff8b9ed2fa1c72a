import type { Tokenizer } from "@kvpack/adapters";
import { DenseKVCache, type KVCacheShape } from "@kvpack/cache";
import { createCompressedCache, memoryReportFor } from "../engine/compressed-cache.js";
import { compressionLabel, type CompressionSettings } from "../engine/compression-settings.js";
import { generateSideBySide } from "../engine/dual-generation.js";
import { frontierEntries, frontierSweep, measureFrontierPoint, type FrontierMeasurement } from "../engine/frontier.js";
import { KVCapture } from "../engine/kv-capture.js";
import { resolvePlaygroundBackend, type PlaygroundBackend } from "../engine/kernel-backend.js";
import { KernelLlamaRuntime, ResidentLlamaWeights } from "../engine/kernel-llama-runtime.js";
import { classifyModelFile, loadGguf, loadLlama2c, parameterCount, type LoadedModel, type NamedBytes } from "../engine/model-loader.js";
import { PlaygroundError, toPlainError } from "../engine/plain-error.js";
import { replayCapture, type ReplayResult } from "../engine/replay.js";
import type { BackendName, ModelInfo, TaskName, WorkerRequest, WorkerResponse } from "./protocol.js";

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

interface Session {
  readonly model: LoadedModel;
  /** The weights on the kernel backend (GPU buffers or WASM memory). */
  readonly resident: ResidentLlamaWeights;
  readonly shape: KVCacheShape;
  readonly heads: number;
}

interface LastRun {
  readonly capture: KVCapture;
  replay: ReplayResult | undefined;
  replaySettings: CompressionSettings | undefined;
  sweep: FrontierMeasurement[] | undefined;
  /** Sweep settings this build could not measure, with the reason. */
  skipped?: string[];
}

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

function modelInfo(model: LoadedModel): ModelInfo {
  const config = model.weights.config;
  return {
    name: model.name,
    format: model.format,
    layers: config.layers,
    heads: config.heads,
    kvHeads: config.kvHeads,
    headDim: config.headDim,
    vocabSize: config.vocabSize,
    maxSequenceLength: config.maxSequenceLength,
    parameters: parameterCount(model.weights),
  };
}

function useModel(model: LoadedModel): void {
  const config = model.weights.config;
  if (!backend) throw new PlaygroundError("The compute backend has not started yet; reload the page.");
  const resident = new ResidentLlamaWeights(backend.kernels, model.weights);
  session?.resident.dispose();
  session = { model, resident, shape: { layers: config.layers, kvHeads: config.kvHeads, headDim: config.headDim }, heads: config.heads };
  lastRun = undefined;
  post({ type: "model", info: modelInfo(model) });
}

async function loadBundled(): Promise<void> {
  progress("load", 0, 1, "Downloading stories260K…");
  const [checkpoint, tokenizer] = await Promise.all([fetchBytes("stories260K.bin"), fetchBytes("tok512.bin")]);
  if (!checkpoint || !tokenizer) {
    post({ type: "no-bundled-model" });
    return;
  }
  bundledTokenizer = tokenizer;
  useModel(loadLlama2c(checkpoint, tokenizer));
}

async function loadFiles(files: readonly NamedBytes[]): Promise<void> {
  progress("load", 0, 1, `Reading ${files.map((file) => file.name).join(", ")}…`);
  const kinds = files.map((file) => classifyModelFile(file));
  const gguf = files.find((_, index) => kinds[index] === "gguf");
  if (gguf) {
    useModel(loadGguf(gguf));
    return;
  }
  if (kinds.includes("onnx")) throw new PlaygroundError("ONNX files are recognised, but this build of the playground cannot run them yet. Use a llama2.c .bin checkpoint.");
  const checkpoint = files.find((_, index) => kinds[index] === "llama2c-checkpoint");
  const tokenizer = files.find((_, index) => kinds[index] === "llama2c-tokenizer");
  if (!checkpoint) throw new PlaygroundError("Only a tokenizer file was given. Drop the model checkpoint (.bin) too.");
  bundledTokenizer ??= await fetchBytes("tok512.bin");
  useModel(loadLlama2c(checkpoint, tokenizer, bundledTokenizer));
}

function requireSession(): Session {
  if (!session) throw new PlaygroundError("No model is loaded yet. Load stories260K or drop a model file first.");
  return session;
}

async function runGeneration(request: Extract<WorkerRequest, { type: "generate" }>): Promise<void> {
  const { model, resident, shape, heads } = requireSession();
  const { sampling, compression } = request;
  const tokenizer: Tokenizer = model.tokenizer;
  const promptIds = tokenizer.encode(request.prompt, { bos: true });
  const config = model.weights.config;
  const totalPositions = Math.min(sampling.steps + 1, config.maxSequenceLength);
  const maxTokens = totalPositions - promptIds.length;
  if (maxTokens < 1) {
    throw new PlaygroundError(`The prompt already uses ${promptIds.length} of the ${totalPositions} positions; raise Steps above ${promptIds.length - 1} or shorten the prompt.`);
  }
  const compressedCache = createCompressedCache(shape, compression);
  const denseCache = new DenseKVCache({ ...shape, capacity: totalPositions });
  const capture = new KVCapture({ ...shape, heads, capacity: totalPositions });
  const denseRuntime = new KernelLlamaRuntime(resident, { observer: capture });
  const compressedRuntime = new KernelLlamaRuntime(resident);
  abort = new AbortController();
  const started = performance.now();
  let generated = 0;
  const result = await generateSideBySide(
    tokenizer,
    { model: denseRuntime, cache: denseCache },
    { model: compressedRuntime, cache: compressedCache },
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
  lastRun = { capture, replay: undefined, replaySettings: undefined, sweep: undefined };
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

/** Replays the last dense run's KV through the settings' cache and posts the memory report. */
function applyCompression(settings: CompressionSettings): ReplayResult | undefined {
  const { shape } = requireSession();
  if (!lastRun) return undefined;
  const replay = replayCapture(lastRun.capture, createCompressedCache(shape, settings));
  lastRun.replay = replay;
  lastRun.replaySettings = settings;
  const report = replay.cache as ReturnType<typeof createCompressedCache>;
  post({ type: "memory", report: memoryReportFor(report.memoryReport(), settings, shape, lastRun.capture.length) });
  return replay;
}

function postAttention(): void {
  if (!lastRun?.replay) return;
  const { layer, head } = attentionSelection;
  const dense = lastRun.capture.attentionMatrix(layer, head);
  const compressed = lastRun.replay.capture.attentionMatrix(layer, head);
  post({ type: "attention", layer, head, length: lastRun.capture.length, dense, compressed }, [dense.buffer, compressed.buffer]);
}

async function runFrontier(settings: CompressionSettings): Promise<void> {
  const { shape } = requireSession();
  const run = lastRun;
  if (!run) throw new PlaygroundError("Generate some text first: the frontier is measured on the keys and values of that run.");
  if (!run.sweep) {
    const grid = frontierSweep(shape.headDim);
    const sweep: FrontierMeasurement[] = [];
    const skipped: string[] = [];
    for (const [index, point] of grid.entries()) {
      progress("frontier", index, grid.length, `Frontier: measuring ${index + 1} of ${grid.length} codec settings…`);
      await yieldToEvents();
      if (lastRun !== run) return;
      try {
        sweep.push(measureFrontierPoint(run.capture, shape, point));
      } catch (error) {
        // A codec this build cannot make is left off the plot, and the page says which.
        skipped.push(`${compressionLabel(point)}: ${toPlainError(error).detail}`);
      }
    }
    run.sweep = sweep;
    run.skipped = skipped;
  }
  let current: FrontierMeasurement | undefined;
  let currentError: unknown;
  try {
    current = measureFrontierPoint(run.capture, shape, settings);
  } catch (error) {
    currentError = error;
  }
  progress("frontier", 1, 1, "Frontier ready");
  post({ type: "frontier", entries: frontierEntries(run.sweep, current), tokens: run.capture.length, skipped: run.skipped ?? [] });
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
