import type { CompressionSettings } from "../engine/compression-settings.js";

export type BackendName = "webgpu" | "wasm" | "ts";

export interface SamplingSettings {
  /** Total positions including the prompt (llama2.c run.c `-n`). */
  readonly steps: number;
  /** 0 means greedy. */
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  readonly seed: number;
}

export interface ModelFile {
  readonly name: string;
  readonly bytes: ArrayBuffer;
}

/** One file of a dropped folder, keyed by its path inside the drop ("tiny-model/config.json"). */
export interface FolderFile {
  readonly path: string;
  readonly bytes: ArrayBuffer;
}

export type WorkerRequest =
  | { readonly type: "init"; readonly backends: readonly BackendName[] }
  | { readonly type: "load-bundled" }
  | { readonly type: "load-files"; readonly files: readonly ModelFile[] }
  /** A Hugging Face model folder (config.json, tokenizer.json, safetensors …). */
  | { readonly type: "load-folder"; readonly files: readonly FolderFile[] }
  | { readonly type: "generate"; readonly prompt: string; readonly sampling: SamplingSettings; readonly compression: CompressionSettings }
  | { readonly type: "stop" }
  | { readonly type: "compression"; readonly compression: CompressionSettings }
  | { readonly type: "frontier"; readonly compression: CompressionSettings }
  | { readonly type: "attention"; readonly layer: number; readonly head: number }
  | { readonly type: "codebook"; readonly blockSize: number; readonly bits: number };

export interface BackendInfo {
  readonly name: BackendName;
  /** Why each preferred backend before it was skipped (plain words). */
  readonly skipped: readonly string[];
  readonly detail: string;
}

export interface ModelInfo {
  readonly name: string;
  readonly format: "llama2c" | "gguf" | "hf-folder" | "onnx";
  /** llama, qwen2, qwen3, phi3, gemma2 (the model description's), or onnx-decoder. */
  readonly architecture: string;
  readonly layers: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  readonly maxSequenceLength: number;
  readonly parameters: number;
}

/** Where one layer's compressed bytes go (all KV heads, keys and values); the four parts sum to `compressed`. */
export interface ByteBreakdown {
  /** The quantized coordinates (fp16 / fp32: the values). */
  readonly codes: number;
  /** Per-row norms, scales and zero points, block means. */
  readonly normsAndScales: number;
  /** Block headers, page digests, per-row positions and live masks. */
  readonly pageMetadata: number;
  /** fp32 rows not yet encoded into a page. */
  readonly residualWindow: number;
}

export interface LayerMemory extends ByteBreakdown {
  /** fp32 bytes of the dense cache's layer. */
  readonly dense: number;
  /** fp16 bytes of the same tokens in this layer. */
  readonly fp16: number;
  readonly compressed: number;
}

export interface MemoryReport {
  readonly label: string;
  readonly tokens: number;
  /** fp32 bytes of the dense cache, per layer and total. */
  readonly denseBytes: number;
  /** fp16 bytes of the same tokens: the reference for compression ratios. */
  readonly fp16Bytes: number;
  readonly compressedBytes: number;
  /** compressedBytes by part, summed over layers. */
  readonly breakdown: ByteBreakdown;
  readonly ratioVsFp16: number;
  readonly layers: readonly LayerMemory[];
}

export interface FrontierEntry {
  readonly label: string;
  readonly group: string;
  readonly ratio: number;
  readonly cosine: number;
  readonly current: boolean;
}

export type TaskName = "load" | "generate" | "compression" | "frontier" | "attention" | "codebook" | "init";

export type WorkerResponse =
  | { readonly type: "ready"; readonly backend: BackendInfo }
  | { readonly type: "model"; readonly info: ModelInfo }
  | { readonly type: "no-bundled-model" }
  | { readonly type: "progress"; readonly task: TaskName; readonly done: number; readonly total: number; readonly label: string }
  | { readonly type: "tokens"; readonly dense: string; readonly compressed: string; readonly position: number }
  | {
      readonly type: "generation-done";
      readonly denseText: string;
      readonly compressedText: string;
      readonly tokens: number;
      readonly tokensPerSecond: number;
      /** Index of the first generated token where the two outputs differ, or -1. */
      readonly firstDivergence: number;
      readonly stopped: boolean;
    }
  | { readonly type: "memory"; readonly report: MemoryReport }
  /** A panel that cannot be computed for the loaded model, with the reason in plain words. */
  | { readonly type: "unavailable"; readonly panel: "frontier" | "attention"; readonly reason: string }
  | { readonly type: "frontier"; readonly entries: readonly FrontierEntry[]; readonly tokens: number; readonly skipped: readonly string[] }
  | {
      readonly type: "attention";
      readonly layer: number;
      readonly head: number;
      readonly length: number;
      /** length × length, row = query position, NaN above the diagonal. */
      readonly dense: Float32Array;
      readonly compressed: Float32Array;
    }
  | { readonly type: "codebook"; readonly blockSize: number; readonly bits: number; readonly size: number; readonly codewords: Float32Array }
  | { readonly type: "error"; readonly task: TaskName; readonly message: string; readonly detail: string };
